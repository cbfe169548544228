/**
 * What the broker can and cannot see of raw `fetch` (issue 19, last bullet): Deno asks it for
 * `net` with host:port only, so a URL-level rule never applies to an unmodified framework's
 * global fetch. This test pins today's grain; the egress proxy of the kernel-confinement issue
 * (20) is what decides such requests on the full URL and method, and will change it.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { loadPolicy } from "../../runtime/policy/loader.ts";
import { collectRun, describe, newHost } from "./helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const AGENT = new URL("./agents/escape/fetch_paths.ts", import.meta.url).pathname;

Deno.test("raw fetch is decided on host:port only: a URL rule for the path cannot apply", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-grain-" }));
  const paths: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (r) => {
    paths.push(new URL(r.url).pathname);
    return new Response("ok");
  });
  const port = server.addr.port;
  const policy = join(tmp, "grain.yaml");
  Deno.writeTextFileSync(
    policy,
    [
      "apiVersion: warden/v1",
      "kind: Policy",
      "name: grain",
      "rules:",
      "  - id: loopback-port",
      "    effect: allow",
      "    action: net.connect",
      `    resource: "127.0.0.1:${port}"`,
      "  - id: public-only",
      "    effect: allow",
      "    action: net.fetch",
      "    when: { url.path: { prefix: [/public/] } }",
      "",
    ].join("\n"),
  );
  const host = newHost({
    policy: loadPolicy([join(ROOT, "policies/agents.yaml"), policy], { builtin: true }),
  });
  const ws = join(tmp, "ws");
  Deno.mkdirSync(ws);
  Deno.writeTextFileSync(join(ws, "params.json"), JSON.stringify({ port }));
  try {
    const run = await collectRun(
      host,
      await host.start({ module: AGENT, workspace: ws, timeoutMs: 60_000 }),
    );
    assertEquals(run.done, true, describe(run));
    // Both requests reached the server: the broker saw a connection, not a URL.
    assertEquals(paths, ["/public/a", "/private/b"], describe(run));
    const net = run.audit.filter((e) => e.path === "broker" && e.action.startsWith("net."));
    assertEquals(net.every((e) => e.action === "net.connect"), true, describe(run));
    assertEquals(net.every((e) => e.resource === `127.0.0.1:${port}`), true, describe(run));
  } finally {
    await host.close();
    await server.shutdown();
    await Deno.remove(tmp, { recursive: true });
  }
});
