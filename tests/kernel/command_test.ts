/**
 * Agents in any language (issue 20 item 6): `AgentSpec.command` runs a program at a ring under
 * the kernel layers, with its workspace, budgets, audit and kill switch, and its one way to
 * the host's tools is MCP over the connection the launcher hands it (`WARDEN_UNIX_FD`).
 */
import { join } from "node:path";
import { registerBuiltinTools } from "../../runtime/executors/builtin_tools.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { withHost } from "../host/helpers.ts";
import { assertEquals } from "../policy/asserts.ts";
import { hostile } from "./deno_off.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const TOOLS = { tools: registerBuiltinTools(new ToolRegistry()) };

Deno.test(
  "command: a python3 agent lists and calls host tools over MCP, and escapes nothing",
  opts,
  () =>
    withHost(async (host) => {
      const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-cmd-secret-" }));
      Deno.writeTextFileSync(join(dir, "secret"), "TOP-SECRET");
      const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const unix = Deno.listen({ transport: "unix", path: join(dir, "host.sock") });
      const workspace = Deno.makeTempDirSync({ prefix: "warden-cmd-ws-" });
      const script = hostile("mcp_agent.py");
      const h = await host.start({
        module: script,
        command: [
          "python3",
          script,
          join(dir, "secret"),
          String((tcp.addr as Deno.NetAddr).port),
          join(dir, "host.sock"),
        ],
        ring: 2,
        workspace,
        timeoutMs: 60_000,
      });
      const [stdout, stderr, exit] = await Promise.all([
        new Response(h.process.stdout).text(),
        new Response(h.process.stderr).text(),
        h.exited,
      ]);
      tcp.close();
      unix.close();
      const lines = stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
      const step = (s: string) => lines.find((l) => l.step === s);
      const show = `exit ${JSON.stringify(exit)}\n${stdout}\n${stderr}`;
      if (!step("done")) throw new Error(`did not finish\n${show}`);
      assertEquals(step("initialize")?.server, "warden");
      if (!step("tools/list")?.names.includes("noop")) throw new Error(`no tools listed\n${show}`);
      assertEquals(step("call noop")?.isError, false, show);
      assertEquals(step("call shell")?.isError, true, show);
      for (
        const s of ["read /etc/shadow", "read secret", "tcp out", "unix socket", "run a program"]
      ) {
        assertEquals([s, step(s)?.ok], [s, false], show);
      }
      assertEquals(Deno.readTextFileSync(join(workspace, "written.txt")), "from python");
      assertEquals(exit.code, 0, show);
      const audit = host.audit.recent.filter((e) => e.agent.id === h.id);
      const start = audit.find((e) => e.action === "agent.start") as
        | { layers?: Record<string, string> }
        | undefined;
      for (const l of ["landlock-fs", "seccomp", "exec", "netns", "cgroup"]) {
        if (!start?.layers?.[l]?.startsWith("on")) {
          throw new Error(`agent.start: layer ${l} not on: ${JSON.stringify(start?.layers)}`);
        }
      }
      if (!start?.layers?.broker?.startsWith("off")) throw new Error("the broker is listed as on");
      const calls = audit.filter((e) => e.action === "tool.call" && e.path === "mcp");
      assertEquals(calls.map((e) => [e.resource, e.effect]), [["noop", "allow"], [
        "shell",
        "deny",
      ]]);
      if (!audit.some((e) => e.action === "agent.exit")) throw new Error("no agent.exit");
      Deno.removeSync(dir, { recursive: true });
    }, TOOLS),
);

Deno.test(
  "command: at ring 2 the only way out is the egress proxy, which still decides",
  opts,
  () =>
    withHost(async (host) => {
      let hits = 0;
      const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
        hits++;
        return new Response("SERVED");
      });
      try {
        const url = `http://127.0.0.1:${server.addr.port}/`;
        const script = hostile("egress_agent.py");
        const h = await host.start({
          module: script,
          command: ["python3", script, url],
          ring: 2,
          timeoutMs: 60_000,
        });
        const [stdout, stderr] = await Promise.all([
          new Response(h.process.stdout).text(),
          new Response(h.process.stderr).text(),
          h.exited,
        ]);
        const lines = stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
        const show = `${stdout}\n${stderr}`;
        const via = lines.find((l) => l.step === "via the proxy");
        const past = lines.find((l) => l.step === "past the proxy");
        // The proxy answered (a refusal: the host's loopback is named by no rule)...
        if (via?.status !== 403 || !String(via.body).startsWith("warden egress")) {
          throw new Error(`the proxy did not decide: ${show}`);
        }
        // ...and straight past it there is no route at all.
        if (!past?.error) throw new Error(`reached past the proxy: ${show}`);
        assertEquals(hits, 0, show);
        const fetches = host.audit.recent.filter((e) =>
          e.agent.id === h.id && e.action === "net.fetch"
        );
        assertEquals(fetches.map((e) => [e.resource, e.effect]), [[url, "deny"]], show);
      } finally {
        await server.shutdown();
      }
    }),
);

Deno.test(
  "command: the kill switch ends a command agent and its cgroup",
  opts,
  () =>
    withHost(async (host) => {
      const h = await host.start({
        module: "/bin/sleep",
        command: ["/bin/sleep", "60"],
        ring: 3,
        timeoutMs: 60_000,
      });
      const exit = await h.kill("operator test");
      assertEquals(exit.killed, "operator test");
      assertEquals(exit.code, 137);
    }),
);

Deno.test(
  "command: a program that is not there is one clear line",
  opts,
  () =>
    withHost(async (host) => {
      let msg = "";
      try {
        await host.start({ module: "nope", command: ["no-such-program-x"], ring: 2 });
      } catch (e) {
        msg = String((e as Error).message);
      }
      assertEquals(
        msg,
        "cannot start agent nope: program not found or not executable: no-such-program-x",
      );
    }),
);
