/**
 * A ring-2 agent in its own network namespace (issue 20 item 1): its unmodified global fetch
 * reaches the network only through the host's egress proxy, which decides each request on the
 * full URL and method — HTTPS too, by TLS interception with the host's egress CA, which only the
 * agent trusts — and makes it itself, verifying the upstream certificate (a loopback HTTPS
 * server with its own test CA, given to the host). Direct connections (the host's loopback, a
 * public IP, DNS to the system resolver) find no route, even where the broker allows them.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { createEgressCa } from "../../runtime/egress/mod.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { landlockSandbox } from "../../runtime/supervisor/sandbox/build.ts";
import { collectRun, describe, escapeAgent, newHost, type Run } from "../host/helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const AGENT = new URL("./agents/unmodified_fetch.ts", import.meta.url).pathname;
const TRIVIAL = escapeAgent("trivial.ts");

function nameserver(): string {
  const m = /^nameserver\s+([\d.]+)/m.exec(Deno.readTextFileSync("/etc/resolv.conf"));
  return m?.[1] ?? "127.0.0.53";
}

async function withUpstreams(
  fetchRule: string[],
  fn: (run: Run, seen: string[], ports: { https: number; http: number }) => void,
) {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-egress-" }));
  const seen: string[] = [];
  const testCa = await createEgressCa(); // the upstream's own CA, not the host's egress CA
  const leaf = await testCa.leaf("localhost");
  const handler = (r: Request) => {
    seen.push(`${r.method} ${new URL(r.url).pathname}`);
    return new Response("ok");
  };
  const quiet = { hostname: "127.0.0.1", port: 0, onListen: () => {} };
  const httpsServer = Deno.serve({ ...quiet, cert: leaf.cert, key: leaf.key }, handler);
  const httpServer = Deno.serve(quiet, handler);
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  (async () => {
    for await (const c of tcp) {
      accepted++;
      c.close();
    }
  })().catch(() => {});
  const ns = nameserver();
  const policy = join(tmp, "egress.yaml");
  Deno.writeTextFileSync(
    policy,
    [
      "apiVersion: warden/v1",
      "kind: Policy",
      "name: egress",
      "rules:",
      // The broker sees host:port only: it allows all of these, so only the kernel stops them.
      "  - id: connect-any",
      "    effect: allow",
      "    action: net.connect",
      `    when: { url.host: { in: [127.0.0.1, localhost, 1.1.1.1, "${ns}"] } }`,
      ...fetchRule,
      "",
    ].join("\n"),
  );
  const host = newHost({
    policy: loadPolicy([join(ROOT, "policies/agents.yaml"), policy], { builtin: true }),
    egressCaCerts: [testCa.certPem],
  });
  const ws = join(tmp, "ws");
  Deno.mkdirSync(ws);
  const ports = { https: httpsServer.addr.port, http: httpServer.addr.port };
  Deno.writeTextFileSync(
    join(ws, "params.json"),
    JSON.stringify({ ...ports, tcp: (tcp.addr as Deno.NetAddr).port, ns }),
  );
  try {
    const run = await collectRun(
      host,
      await host.start({ module: AGENT, workspace: ws, ring: 2, timeoutMs: 90_000 }),
    );
    assertEquals(run.done, true, describe(run));
    assertEquals(accepted, 0, `a direct connection reached the host's loopback\n${describe(run)}`);
    fn(run, seen, ports);
  } finally {
    await host.close();
    await httpsServer.shutdown();
    await httpServer.shutdown();
    tcp.close();
    await Deno.remove(tmp, { recursive: true });
  }
}

const step = (run: Run, name: string) => {
  const a = run.attempts.find((x) => x.step === name);
  if (!a) throw new Error(`no attempt ${name}\n${describe(run)}`);
  return a;
};

Deno.test("egress: global fetch is decided by URL over HTTPS and HTTP; direct connections find no route", async () => {
  await withUpstreams(
    [
      "  - id: public-paths",
      "    effect: allow",
      "    action: net.fetch",
      "    when:",
      "      all:",
      "        - url.host: { in: [localhost, 127.0.0.1] }",
      "        - url.path: { prefix: [/public/] }",
    ],
    (run, seen, ports) => {
      assertEquals(step(run, "fetch https public").value, "200 ok", describe(run));
      const priv = step(run, "fetch https private").value ?? "";
      assert(priv.startsWith("403 warden egress: GET https://localhost:"), describe(run));
      const plain = step(run, "fetch http private").value ?? "";
      assert(plain.startsWith("403 warden egress: GET http://127.0.0.1:"), describe(run));
      // node:https either goes through the proxy (decided: the public path passes) or finds
      // no route; it never reaches the server around the proxy.
      const node = step(run, "node:https public");
      assert(!node.ok || node.value === "200 ok", describe(run));
      for (
        const s of [
          "direct tcp host loopback",
          "direct tcp public ip",
          "dns to the system resolver",
        ]
      ) {
        assertEquals(step(run, s).ok, false, `${s}\n${describe(run)}`);
      }
      // Only allowed paths reached a server.
      assert(seen.every((s) => s.startsWith("GET /public/")), `${seen}\n${describe(run)}`);
      assert(seen.includes("GET /public/a"), describe(run));
      const egress = run.audit.filter((e) => e.path === "egress");
      const denied = egress.filter((e) => e.effect === "deny").map((e) => e.resource);
      assert(denied.includes(`https://localhost:${ports.https}/private/b`), describe(run));
      assert(denied.includes(`http://127.0.0.1:${ports.http}/private/c`), describe(run));
      const allowed = egress.find((e) =>
        e.resource === `https://localhost:${ports.https}/public/a`
      );
      assertEquals(allowed?.effect, "allow", describe(run));
      assertEquals(allowed?.rule, "public-paths", describe(run));
      assertEquals(allowed?.method, "GET", describe(run));
      // The layer is reported with the start.
      const start = run.audit.find((e) => e.action === "agent.start");
      assert(JSON.stringify(start).includes("own network namespace"), JSON.stringify(start));
    },
  );
});

Deno.test("egress: a rule that does not name the host's loopback does not open it", async () => {
  await withUpstreams(
    ["  - id: any-url", "    effect: allow", "    action: net.fetch"],
    (run, seen) => {
      const pub = step(run, "fetch https public").value ?? "";
      assert(pub.startsWith("403 warden egress:"), describe(run));
      assert(pub.includes("host loopback service localhost"), describe(run));
      assertEquals(seen, [], describe(run));
    },
  );
});

/** A host whose launcher is faked to be unable to make a network namespace. */
class NoNetnsHost extends AgentHost {
  override sandbox() {
    return { ...landlockSandbox(), netns: "cannot unshare: Operation not permitted" as const };
  }
}

Deno.test("egress: without a network namespace rings 2 and 3 are refused, ring 1 starts", async () => {
  const host = new NoNetnsHost({
    policy: loadPolicy([join(ROOT, "policies/agents.yaml")], { builtin: true }),
    rings: loadRings(),
  });
  const ws = await Deno.makeTempDir({ prefix: "warden-no-netns-" });
  try {
    for (const ring of [2, 3] as const) {
      const e = await host.start({ module: TRIVIAL, workspace: ws, ring }).then(
        () => null,
        (e: Error) => e.message,
      );
      assert(e?.includes("network namespace (cannot unshare"), `ring ${ring}: ${e}`);
    }
    const h = await host.start({ module: TRIVIAL, workspace: ws, ring: 1 });
    const [out] = await Promise.all([new Response(h.process.stdout!).text(), h.exited]);
    assert(out.includes("trivial agent alive"), out);
  } finally {
    await host.close();
    await Deno.remove(ws, { recursive: true });
  }
});
