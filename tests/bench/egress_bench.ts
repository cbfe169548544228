/**
 * Egress benchmarks (issue 20 item 1), in `deno task bench --only host`:
 * - `egress.fetch https` / `egress.fetch http`: an agent's global fetch of a loopback server
 *   through its network namespace's egress proxy (forwarder, unix socket, decision, TLS
 *   interception for https, the host's own request), timed inside the agent;
 * - `sdk.http.fetch http`: the SDK's `http.fetch` of the same plain URL from the same agent
 *   (the SDK path has no hook for the test server's CA, so its row is plain HTTP);
 * - `direct.fetch https`: this process fetching the HTTPS server itself (no agent, no proxy);
 * - `agent.start netns` / `agent.start no-netns`: the ring-2 agent command line (Landlock,
 *   seccomp full, scope rules, pinned cwd), spawned until its first broker check, with and
 *   without the network namespace and forwarder, interleaved (an allow-all broker).
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ringFlags } from "../../governance/rings/mod.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { createEgressCa } from "../../runtime/egress/mod.ts";
import { landlockSandbox } from "../../runtime/supervisor/sandbox/build.ts";
import { kernelLayers } from "../../runtime/supervisor/sandbox/layers.ts";
import { killGroup, spawnAgent } from "../../runtime/supervisor/spawn.ts";
import {
  type AgentStats,
  allowAllBroker,
  collect,
  dummySdk,
  type HostBenchOptions,
  msRow,
  statsRow,
  workspace,
} from "./host_bench.ts";
import { type BenchRow, pct } from "./stats.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const AGENTS = new URL("./agents/", import.meta.url).pathname;

async function benchFetch(tmp: string, n: number): Promise<BenchRow[]> {
  const ca = await createEgressCa(); // the loopback server's own CA
  const leaf = await ca.leaf("localhost");
  const quiet = { hostname: "127.0.0.1", port: 0, onListen: () => {} };
  const body = "x".repeat(1024);
  const tlsServer = Deno.serve(
    { ...quiet, cert: leaf.cert, key: leaf.key },
    () => new Response(body),
  );
  const plainServer = Deno.serve(quiet, () => new Response(body));
  const https = `https://localhost:${tlsServer.addr.port}/bench/a`;
  const http = `http://localhost:${plainServer.addr.port}/bench/a`;
  const policy = join(tmp, "egress-bench.yaml");
  Deno.writeTextFileSync(
    policy,
    [
      "apiVersion: warden/v1",
      "kind: Policy",
      "name: egress-bench",
      "rules:",
      "  - { id: bench-connect, effect: allow, action: net.connect, when: { url.host: { eq: localhost } } }",
      "  - id: bench-fetch",
      "    effect: allow",
      "    action: net.fetch",
      "    when: { all: [{ url.host: { eq: localhost } }, { url.path: { prefix: /bench/ } }] }",
      "",
    ].join("\n"),
  );
  const host = new AgentHost({
    policy: loadPolicy([join(ROOT, "policies/agents.yaml"), policy], { builtin: true }),
    rings: loadRings(),
    stateDir: join(tmp, "egress-state"),
    egressCaCerts: [ca.certPem],
  });
  const client = Deno.createHttpClient({ caCerts: [ca.certPem] });
  try {
    const ws = workspace(tmp, "ws-egress", { "params.json": JSON.stringify({ https, http, n }) });
    const h = await host.start({
      module: join(AGENTS, "egress_fetch.ts"),
      workspace: ws,
      ring: 2,
      timeoutMs: 300_000,
      limits: { ratePerSecond: 1e9, burst: 1e9 },
      budgets: { brokerRate: 1_000_000 },
    });
    const lines = await collect(h, "egress.fetch");
    const arms = lines.filter((l) => l.startsWith("{")).map((l) =>
      JSON.parse(l) as AgentStats & { arm: string }
    );
    const name = (arm: string) =>
      arm === "proxied https"
        ? "egress.fetch https"
        : arm === "proxied http"
        ? "egress.fetch http"
        : "sdk.http.fetch http";
    const rows: BenchRow[] = arms.map((a) => statsRow(name(a.arm), "warden", a, {}));
    const direct: number[] = [];
    for (let i = -1; i < n; i++) {
      const t0 = performance.now();
      await (await fetch(https, { client })).text();
      if (i >= 0) direct.push(performance.now() - t0);
    }
    rows.push(msRow("direct.fetch https", direct));
    const base = rows.find((r) => r.name === "direct.fetch https")!.p50_us;
    for (const r of rows) r.ratio_vs_direct = r.p50_us / base;
    return rows;
  } finally {
    client.close();
    await host.close();
    await tlsServer.shutdown();
    await plainServer.shutdown();
  }
}

/** One ring-2 command line until its first broker check, with or without the namespace. */
async function startOnce(tmp: string, netns: boolean): Promise<number> {
  const sb = landlockSandbox();
  if (!sb.path) throw new Error(`agent.start: no kernel sandbox: ${sb.why}`);
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ dir: tmp, prefix: "start-" }));
  const ws = workspace(dir, "workspace", {});
  const importMap = join(dir, "import_map.json");
  Deno.writeTextFileSync(importMap, JSON.stringify({ imports: {} }));
  let first = 0;
  const t0 = performance.now();
  const broker = allowAllBroker(join(dir, "b.sock"), () => (first = performance.now()));
  const closeSdk = dummySdk(join(dir, "s.sock"));
  const { layers } = kernelLayers(2, { net: true }, sb.abi ?? 1, true);
  const module = join(AGENTS, "first_call.ts");
  const child = spawnAgent({
    deno: Deno.execPath(),
    bootstrap: join(ROOT, "runtime/supervisor/bootstrap.ts"),
    agentUrl: pathToFileURL(module).href,
    sdkSocket: join(dir, "s.sock"),
    brokerSocket: join(dir, "b.sock"),
    workspace: ws,
    denoDir: join(dir, "deno_dir"),
    importMap,
    flags: ringFlags(loadRings().doc.rings[2], { workspace: ws, code: [module] }),
    heapMb: 256,
    cpuSeconds: 601,
    stdout: "null",
    stderr: "null",
    sandbox: {
      launcher: sb.path,
      readOnly: ["/"],
      readWrite: [dir],
      pinCwd: true,
      ...layers,
      netns,
      ...(netns ? { egress: `3128:${join(dir, "e.sock")}` } : {}),
    },
  });
  try {
    const deadline = performance.now() + 60_000;
    while (!first && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    if (!first) throw new Error("agent.start: no broker check within 60 s");
    return first - t0;
  } finally {
    killGroup(child.pid);
    await child.status;
    broker.close();
    closeSdk();
  }
}

async function benchStart(tmp: string, runs: number): Promise<BenchRow[]> {
  const on: number[] = [];
  const off: number[] = [];
  for (let i = -1; i < runs; i++) { // one warm-up pair
    const a = await startOnce(tmp, true);
    const b = await startOnce(tmp, false);
    if (i < 0) continue;
    on.push(a);
    off.push(b);
  }
  const p50 = (xs: number[]) => pct(Float64Array.from(xs).sort(), 0.5);
  return [
    msRow("agent.start netns", on, { ratio_vs_no_netns: p50(on) / p50(off) }),
    msRow("agent.start no-netns", off),
  ];
}

/** The egress rows. */
export async function runEgressBench(o: HostBenchOptions): Promise<BenchRow[]> {
  const tmp = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-egress-bench-" }));
  try {
    o.log("egress: proxied fetch vs SDK http.fetch vs direct");
    const rows = await benchFetch(tmp, o.quick ? 50 : 300);
    o.log("egress: agent start-up with and without the network namespace");
    rows.push(...await benchStart(tmp, o.quick ? 5 : 15));
    return rows;
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
}
