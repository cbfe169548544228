/**
 * Integration benchmarks: MCP `tools/call` through the gateway beside the same server without
 * it, and the adapters' `tools.authorize` round trip.
 *
 * Rows (latencies in µs, per call, measured in the client):
 * - `mcp.tools_call direct`: the SDK client talks stdio to the local echo server run as a
 *   plain `deno run -A` process (no sandbox, no broker, no policy, no audit).
 * - `mcp.tools_call gateway`: the same server as a governed worker (ring 2, broker, Landlock)
 *   behind McpGateway in its default mode (not bundled: its npm: imports installed in the
 *   package store); the client is connected in memory, so both arms cross one stdio pipe.
 *   Each call is decided, audited (written before the answer) and forwarded.
 * - `mcp.startup direct` / `mcp.startup gateway`: a cached npm server (not written here) from
 *   spawn to a completed handshake, as `deno run -A npm:…` and through McpGateway.start on a
 *   running host from the package store; interleaved, ratio of medians.
 * - `mcp.startup_local direct` / `mcp.startup_local gateway`: the same for the local echo
 *   server (a module of this repository importing the MCP SDK), `deno run -A <file>` beside
 *   McpGateway.start in its default mode (own code, its npm: imports from the package store).
 * - `sdk.authorize`: `tools.authorize` timed inside an agent (decide + audit, nothing run).
 * - `audit.args_digest`: the `argsSha256` every decided tool call adds to the governor's hot
 *   path (canonical JSON + SHA-256 of a three-field argument object), timed per call.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { join } from "node:path";
import { compilePolicySet } from "../../governance/mod.ts";
import { AgentHost } from "../../runtime/host.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { McpGateway } from "../../runtime/mcp/gateway.ts";
import { BUILTIN_POLICY, loadRings } from "../../runtime/policy/loader.ts";
import { pipeLines } from "../../runtime/supervisor/output.ts";
import { PROJECT_CONFIG } from "../../runtime/supervisor/bundle.ts";
import { payloadHash } from "../../governance/identity/mod.ts";
import { type BenchRow, measure, pct, timerOverheadUs } from "./stats.ts";

export interface McpBenchOptions {
  quick: boolean;
  log: (line: string) => void;
}

const AGENTS = new URL("./agents/", import.meta.url).pathname;
/** A local MCP server (the official SDK, one tool that does no I/O). */
const ECHO = join(AGENTS, "mcp_echo.ts");
const POLICY = `apiVersion: warden/v1
kind: Policy
name: bench-integrations
default: deny
rules:
  - { id: echo, effect: allow, action: tool.call, resource: echo }
  - { id: mail, effect: allow, action: tool.call, resource: send_email,
      when: { args.to: { suffix: "@example.com" } } }
  - { id: files, effect: allow, action: [fs.read, fs.write], when: { path: { within: ["\${workspace}"] } } }
  - { id: out, effect: allow, action: output.emit }
`;

function row(name: string, engine: string, lat: number[], secs: number): BenchRow {
  const s = Float64Array.from(lat).sort();
  return {
    name,
    engine,
    p50_us: pct(s, 0.5),
    p99_us: pct(s, 0.99),
    p999_us: pct(s, 0.999),
    ops_per_s: lat.length / secs,
    samples: lat.length,
  };
}

async function calls(client: Client, n: number, warmup: number): Promise<[number[], number]> {
  for (let i = 0; i < warmup; i++) {
    await client.callTool({ name: "echo", arguments: { text: "x" } });
  }
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await client.callTool({ name: "echo", arguments: { text: `call ${i}` } });
    lat.push((performance.now() - s) * 1000);
  }
  return [lat, (performance.now() - t0) / 1000];
}

/** An npm MCP server nobody here wrote, run from the package store (issue 19). */
export const STORE_SERVER = "npm:@modelcontextprotocol/server-sequential-thinking@2026.8.31";

/**
 * Start-up of a cached npm server to a completed MCP handshake: `deno run -A` of the package
 * (Deno's own npm cache) beside McpGateway.start of the same package from the package store
 * (installed by a warm-up start) on a running host; interleaved, medians.
 */
async function benchStartup(
  host: AgentHost,
  runs: number,
  server: string,
  name: string,
): Promise<BenchRow[]> {
  const direct: number[] = [];
  const gateway: number[] = [];
  // An npm: server runs from Deno's npm cache, a local module with the project's configuration.
  const directArgs = server.startsWith("npm:")
    ? ["run", "-A", "--no-config", server]
    : ["run", "-A", `--config=${PROJECT_CONFIG}`, server];
  for (let i = -1; i < runs; i++) { // one warm-up pair (installs the store, fills caches)
    let t0 = performance.now();
    const c = new Client({ name: "bench", version: "1.0.0" });
    await c.connect(
      new StdioClientTransport({ command: Deno.execPath(), args: directArgs, stderr: "ignore" }),
    );
    const td = performance.now() - t0;
    await c.close();
    t0 = performance.now();
    const gw = await McpGateway.start({ host, server: { module: server } });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await gw.serve(b);
    const g = new Client({ name: "bench", version: "1.0.0" });
    await g.connect(a);
    const tg = performance.now() - t0;
    await g.close();
    await gw.close();
    if (i < 0) continue;
    direct.push(td * 1000);
    gateway.push(tg * 1000);
  }
  const d = row(`${name} direct`, "deno run -A", direct, direct.reduce((x, y) => x + y) / 1e6);
  const g = row(`${name} gateway`, "warden", gateway, gateway.reduce((x, y) => x + y) / 1e6);
  g.ratio_vs_direct = g.p50_us / d.p50_us;
  return [d, g];
}

export async function runMcpBench(o: McpBenchOptions): Promise<BenchRow[]> {
  const n = o.quick ? 500 : 5000;
  const warmup = o.quick ? 100 : 500;
  const args = { to: "partner@example.com", subject: "Budget", body: "The budget is 42k." };
  const d = measure(() => payloadHash(args), n * 20, warmup * 20, timerOverheadUs());
  const digest: BenchRow = {
    name: "audit.args_digest",
    engine: "warden",
    p50_us: d.p50,
    p99_us: d.p99,
    p999_us: d.p999,
    ops_per_s: d.opsPerS,
    samples: n * 20,
  };
  const state = Deno.makeTempDirSync({ prefix: "warden-bench-mcp-" });
  const policy = compilePolicySet([
    { path: BUILTIN_POLICY, text: Deno.readTextFileSync(BUILTIN_POLICY) },
    { path: "bench.yaml", text: POLICY },
  ]);
  const host = new AgentHost({
    policy,
    rings: loadRings(),
    auditPath: join(state, "audit.jsonl"),
    stateDir: join(state, "host"),
    storeDir: join(state, "store"),
    cacheDir: join(state, "caches"),
    // Identities that outlive a start, as the CLIs have: restarts reuse the agent's cache.
    keystore: new Keystore(join(state, "keys")),
  });
  const rows: BenchRow[] = [digest];
  try {
    o.log(`mcp.tools_call gateway: ${n} calls`);
    const gw = await McpGateway.start({ host, server: { module: ECHO } });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await gw.serve(b);
    const client = new Client({ name: "bench", version: "1.0.0" });
    await client.connect(a);
    const [glat, gsecs] = await calls(client, n, warmup);
    await client.close();
    await gw.close();

    o.log(`mcp.tools_call direct: ${n} calls`);
    const direct = new Client({ name: "bench", version: "1.0.0" });
    await direct.connect(
      new StdioClientTransport({
        command: Deno.execPath(),
        args: ["run", "-A", `--config=${PROJECT_CONFIG}`, ECHO],
        stderr: "ignore",
      }),
    );
    const [dlat, dsecs] = await calls(direct, n, warmup);
    await direct.close();
    const d = row("mcp.tools_call direct", "no governance", dlat, dsecs);
    const g = row("mcp.tools_call gateway", "warden", glat, gsecs);
    g.ratio_vs_direct = g.p50_us / d.p50_us;
    rows.push(d, g);

    o.log(`mcp.startup: ${STORE_SERVER}, direct and through the gateway, interleaved`);
    rows.push(...await benchStartup(host, o.quick ? 3 : 10, STORE_SERVER, "mcp.startup"));
    o.log(`mcp.startup_local: ${ECHO}, direct and through the gateway, interleaved`);
    rows.push(...await benchStartup(host, o.quick ? 3 : 10, ECHO, "mcp.startup_local"));

    o.log(`sdk.authorize: ${n} calls`);
    const ws = join(state, "ws");
    Deno.mkdirSync(ws, { recursive: true });
    Deno.writeTextFileSync(join(ws, "params.json"), JSON.stringify({ n, warmup }));
    const h = await host.start({
      module: join(AGENTS, "authorize.ts"),
      workspace: ws,
      limits: { ratePerSecond: 1e9, burst: 1e9 },
    });
    let line = "";
    await Promise.all([
      pipeLines(h.process.stdout, (l) => (line = l)),
      pipeLines(h.process.stderr, () => {}),
      h.exited,
    ]);
    const s = JSON.parse(line) as Record<string, number>;
    rows.push({
      name: "sdk.authorize",
      engine: "warden",
      p50_us: s.p50_us,
      p99_us: s.p99_us,
      p999_us: s.p999_us,
      ops_per_s: s.ops_per_s,
      samples: s.n,
    });
  } finally {
    await host.close();
    Deno.removeSync(state, { recursive: true });
  }
  return rows;
}
