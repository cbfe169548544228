/** The SDK path: allowed, denied, approval-required and invalid calls, end to end. */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { registerBuiltinTools } from "../../runtime/executors/builtin_tools.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { pipeLines } from "../../runtime/supervisor/output.ts";
import { TrustService } from "../../runtime/trust/service.ts";

const AGENT = new URL("./agents/sdk/calls.ts", import.meta.url).pathname;
type Result = {
  call: string;
  ok: boolean;
  result?: unknown;
  code?: string;
  rule?: string | null;
  message?: string;
};

async function runCalls(
  approve: "approved" | "denied" | null,
): Promise<{ results: Map<string, Result>; host: AgentHost; secret: string }> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("pong"),
  );
  const dir = await Deno.makeTempDir();
  const secret = join(dir, "secret.txt");
  await Deno.writeTextFile(secret, "TOP-SECRET-MARKER");
  const ws = join(dir, "ws");
  await Deno.mkdir(ws);
  await Deno.symlink(secret, join(ws, "link-to-secret"));
  const host = new AgentHost({
    policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
    rings: loadRings(),
    tools: registerBuiltinTools(new ToolRegistry()),
    approvals: approve ? () => Promise.resolve(approve) : undefined,
    // An agent in good standing (verified): its one critical call (rm -rf) costs trust but does
    // not demote and restart it in the middle of the calls under test.
    trust: new TrustService(undefined, { baseline: 1000, halfLifeMs: 24 * 3600 * 1000 }),
  });
  const results = new Map<string, Result>();
  try {
    const h = await host.start({
      module: AGENT,
      workspace: ws,
      env: {
        WARDEN_TASK: JSON.stringify({ api: `http://127.0.0.1:${server.addr.port}` }),
        TZ: "UTC",
        HOME: "/root",
      },
      timeoutMs: 20000,
    });
    let err = "";
    await Promise.all([
      pipeLines(h.process.stdout, (l) => {
        const r = JSON.parse(l) as Result;
        results.set(r.call, r);
      }),
      pipeLines(h.process.stderr, (l) => (err += l + "\n")),
      h.exited.then((e) => assertEquals(e.code, 0, err)),
    ]);
  } finally {
    await server.shutdown();
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
  return { results, host, secret };
}

Deno.test("SDK: allowed, denied, approval and invalid calls come back as such, and are audited", async () => {
  const { results: r, host } = await runCalls(null);
  assertEquals(r.get("noop"), { call: "noop", ok: true, result: "ok" });
  const rm = r.get("rm-rf")!;
  assertEquals([rm.ok, rm.code, rm.rule], [false, "denied", "no-rm-rf"]);
  if (!rm.message!.includes("recursive force delete is never allowed")) throw new Error(rm.message);
  const ask = r.get("shell-ls")!;
  assertEquals([ask.code, ask.rule], ["approval_required", "shell-needs-approval"]);
  assertEquals(r.get("bad-args")!.code, "invalid");
  assertEquals(r.get("unknown-tool")!.code, "invalid");
  assertEquals(r.get("fetch-ok"), { call: "fetch-ok", ok: true, result: "pong" });
  assertEquals(r.get("fetch-post")!.code, "denied");
  assertEquals(r.get("fetch-other")!.code, "denied");
  assertEquals(r.get("write")!.ok, true);
  assertEquals(r.get("read")!.result, "hello");
  const esc = r.get("read-escape")!;
  assertEquals(esc.code, "denied");
  if (!esc.message!.startsWith("ring ceiling")) throw new Error(esc.message);
  assertEquals(r.get("read-link")!.code, "denied");
  assertEquals(r.get("env-ok")!.result, "UTC");
  assertEquals(r.get("env-denied")!.code, "denied");
  const audit = host.audit.recent;
  const denied = audit.filter((e) => e.path === "sdk" && e.effect === "deny").map((e) =>
    `${e.action} ${e.resource}`
  );
  for (const want of ["tool.call shell", "net.fetch", "fs.read /etc/passwd", "env.get HOME"]) {
    if (!denied.some((d) => d.startsWith(want))) {
      throw new Error(`no audited deny for ${want}: ${denied.join(", ")}`);
    }
  }
  if (!audit.some((e) => e.effect === "require_approval" && e.resource === "shell")) {
    throw new Error("approval not audited");
  }
});

Deno.test("SDK: an approval handler can approve or deny require_approval calls", async () => {
  const ok = await runCalls("approved");
  const ran = ok.results.get("shell-ls")!;
  assertEquals(ran.ok, true);
  assertEquals((ran.result as { stdout: string }).stdout, "approved-run\n");
  assertEquals(ok.results.get("rm-rf")!.code, "denied"); // deny still overrides
  const no = await runCalls("denied");
  assertEquals(no.results.get("shell-ls")!.code, "denied");
});
