/**
 * Raw `fetch` of an unmodified agent is decided on the full URL and method (issue 20): the
 * broker sees only host:port (Deno asks it for `net`), but at ring 2 the agent has no network of
 * its own, and its requests reach the host's egress proxy, which decides each as `net.fetch` of
 * the URL (audit path `egress`). Before the proxy, both paths reached the server (issue 19 pinned
 * that grain here).
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { loadPolicy } from "../../runtime/policy/loader.ts";
import { collectRun, describe, newHost } from "./helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const AGENT = new URL("./agents/escape/fetch_paths.ts", import.meta.url).pathname;

Deno.test("raw fetch is decided on the full URL: a URL rule for the path applies", async () => {
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
      "    when: { all: [{ url.host: { eq: 127.0.0.1 } }, { url.path: { prefix: [/public/] } }] }",
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
    // Only the allowed path reached the server; the other was answered 403 by the proxy.
    assertEquals(paths, ["/public/a"], describe(run));
    const [pub, priv] = run.attempts;
    assertEquals(pub.value, "200 ok", describe(run));
    assertEquals(
      priv.value?.startsWith("403 warden egress: GET http://127.0.0.1:"),
      true,
      describe(run),
    );
    const fetches = run.audit.filter((e) => e.path === "egress" && e.action === "net.fetch");
    assertEquals(
      fetches.map((e) => [e.resource, e.effect]),
      [
        [`http://127.0.0.1:${port}/public/a`, "allow"],
        [`http://127.0.0.1:${port}/private/b`, "deny"],
      ],
      describe(run),
    );
    assertEquals(fetches[0].rule, "public-only", describe(run));
  } finally {
    await host.close();
    await server.shutdown();
    await Deno.remove(tmp, { recursive: true });
  }
});
