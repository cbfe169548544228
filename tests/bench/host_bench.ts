/**
 * Host benchmarks: agent start-up, SDK round trips, permission-broker checks (beside an
 * allow-all broker running the same agent command line), the kill switch, and many agents at
 * once. Every case runs real agent processes from `./agents/`, under a host with the shipped
 * agent policy, the built-in tools and an audit file.
 *
 * Rows (latencies in µs; `host_cpu_*` is this process's CPU time, all threads, from getrusage):
 * - `host.spawn`: host.start() until the agent's first tool call is audited (one warm-up run
 *   dropped); ops/s = 1 / mean. With 30 samples p99 and p99.9 are the maximum.
 * - `sdk.roundtrip`: per-call `tools.call("noop")` latency timed inside the agent (the gateway
 *   rate limit is raised so the token bucket does not refuse the loop); ops/s over the loop;
 *   the run with the median p50 out of `rounds`.
 * - `broker.check` / `broker.check allow-all`: per-`Deno.statSync` latency timed inside the
 *   agent, under Warden and under a broker that allows everything (same argv); the round with
 *   the median p50 out of `rounds`. `ratio_vs_allow_all` = p50 ratio, `ratio_ops_vs_allow_all`
 *   = mean-time ratio.
 * - `kill.latency`: handle.kill() on a busy-looping agent until handle.exited resolves.
 * - `host.concurrent`: p50/p99/p99.9 are per-call SDK latencies of all agents pooled; ops/s is
 *   all calls over the wall time from the first start() to the last exit (start-up included);
 *   `agent_ops_per_s_*` is the per-agent distribution; `host_rss_mb` the peak RSS sampled
 *   every 50 ms.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ringFlags } from "../../governance/rings/mod.ts";
import { registerBuiltinTools } from "../../runtime/executors/builtin_tools.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { type AgentExit, type AgentHandle, AgentHost, type AgentSpec } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { pipeLines } from "../../runtime/supervisor/output.ts";
import { killGroup, spawnAgent } from "../../runtime/supervisor/spawn.ts";
import process from "node:process";
import { type BenchRow, pct } from "./stats.ts";

export interface HostBenchOptions {
  quick: boolean;
  log: (line: string) => void;
}

const ROOT = new URL("../../", import.meta.url).pathname;
const AGENTS = new URL("./agents/", import.meta.url).pathname;
const SDK_DIR = join(ROOT, "sdk");
const BOOTSTRAP = join(ROOT, "runtime/supervisor/bootstrap.ts");
const POLICY = join(ROOT, "policies/agents.yaml");
/** The gateway's default 5000 req/s token bucket would throttle a tight no-op loop. */
const UNTHROTTLED = { ratePerSecond: 1e9, burst: 1e9 };
/** The broker target this bench reports against (issue 23: at most 1.5x the allow-all p50). */
const BROKER_TARGET = 1.5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sorted = (xs: number[]) => Float64Array.from(xs).sort();
const median = (xs: number[]) => pct(sorted(xs), 0.5);
/** CPU time of this (host) process in ms, every thread (getrusage: microsecond resolution). */
const hostCpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

/** A row from durations in milliseconds (ops/s: samples over the summed durations). */
export function msRow(
  name: string,
  ms: number[],
  extra: Record<string, unknown> = {},
): BenchRow {
  const s = sorted(ms);
  const total = ms.reduce((a, b) => a + b, 0);
  return {
    name,
    engine: "warden",
    p50_us: pct(s, 0.5) * 1000,
    p99_us: pct(s, 0.99) * 1000,
    p999_us: pct(s, 0.999) * 1000,
    ops_per_s: ms.length / (total / 1000),
    samples: ms.length,
    ...extra,
  };
}

/** A host over the shipped agent policy, built-in tools and an audit file, in a fresh dir. */
export function newHost(tmp: string): AgentHost {
  const dir = join(tmp, `host-${crypto.randomUUID()}`);
  Deno.mkdirSync(dir, { recursive: true });
  return new AgentHost({
    policy: loadPolicy([POLICY], { builtin: true }),
    rings: loadRings(),
    tools: registerBuiltinTools(new ToolRegistry()),
    auditPath: join(dir, "audit.jsonl"),
    stateDir: join(dir, "state"),
  });
}

/** A fresh workspace holding `params.json` (and any other files). */
export function workspace(tmp: string, name: string, files: Record<string, string>): string {
  const ws = join(tmp, name);
  Deno.mkdirSync(ws, { recursive: true });
  for (const [f, text] of Object.entries(files)) Deno.writeTextFileSync(join(ws, f), text);
  return ws;
}

/** Collect an agent's output; fail unless it exits 0. */
export async function collect(
  h: { process: Deno.ChildProcess; exited: Promise<{ code: number }> },
  what: string,
  onLine: (line: string) => void = () => {},
): Promise<string[]> {
  const out: string[] = [];
  let err = "";
  const [, , exit] = await Promise.all([
    pipeLines(h.process.stdout, (l) => {
      out.push(l);
      onLine(l);
    }),
    pipeLines(h.process.stderr, (l) => (err += l + "\n")),
    h.exited,
  ]);
  if (exit.code !== 0) throw new Error(`${what}: agent exited with code ${exit.code}\n${err}`);
  return out;
}

/** The last stdout line as JSON (the agents print one result line). */
function result<T>(lines: string[], what: string): T {
  const last = lines.findLast((l) => l.startsWith("{"));
  if (!last) throw new Error(`${what}: no result line in ${JSON.stringify(lines)}`);
  return JSON.parse(last) as T;
}

export interface AgentStats {
  n: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  ops_per_s: number;
}

/** A bench row from the percentiles an agent printed. */
export function statsRow(
  name: string,
  engine: string,
  s: AgentStats,
  extra: Record<string, unknown>,
) {
  return {
    name,
    engine,
    p50_us: s.p50_us,
    p99_us: s.p99_us,
    p999_us: s.p999_us,
    ops_per_s: s.ops_per_s,
    samples: s.n,
    max_us: s.max_us,
    ...extra,
  };
}

/** a. host.start() until the agent's first SDK request reaches the gateway. */
async function benchSpawn(tmp: string, runs: number): Promise<BenchRow> {
  const host = newHost(tmp);
  const first = new Map<string, number>();
  const unsubscribe = host.audit.subscribe((e) => {
    if (e.action === "tool.call" && !first.has(e.agent.id)) {
      first.set(e.agent.id, performance.now());
    }
  });
  const toRequest: number[] = [];
  const toReturn: number[] = [];
  const toExit: number[] = [];
  try {
    for (let i = -1; i < runs; i++) { // one warm-up run
      const t0 = performance.now();
      const h = await host.start({ module: join(AGENTS, "first_call.ts"), timeoutMs: 30000 });
      const t1 = performance.now();
      await collect(h, "host.spawn");
      const t2 = performance.now();
      const tr = first.get(h.id);
      if (tr === undefined) throw new Error("host.spawn: the agent's tool call was not audited");
      if (i < 0) continue;
      toRequest.push(tr - t0);
      toReturn.push(t1 - t0);
      toExit.push(t2 - t0);
    }
  } finally {
    unsubscribe();
    await host.close();
  }
  return msRow("host.spawn", toRequest, {
    start_return_ms_p50: median(toReturn),
    start_to_exit_ms_p50: median(toExit),
  });
}

/** b. Sequential SDK no-op tool calls timed inside the agent: the median-p50 of `rounds` runs. */
async function benchRoundtrip(tmp: string, n: number, rounds: number): Promise<BenchRow> {
  const runs: BenchRow[] = [];
  for (let r = 0; r < rounds; r++) runs.push(await roundtripOnce(join(tmp, `r${r}`), n));
  return { ...[...runs].sort((a, b) => a.p50_us - b.p50_us)[runs.length >> 1], rounds };
}

async function roundtripOnce(tmp: string, n: number): Promise<BenchRow> {
  const host = newHost(tmp);
  try {
    const ws = workspace(tmp, "ws-roundtrip", {
      "params.json": JSON.stringify({ n, warmup: Math.min(2000, n >> 2) }),
    });
    const h = await host.start({
      module: join(AGENTS, "roundtrip.ts"),
      workspace: ws,
      timeoutMs: 300000,
      limits: UNTHROTTLED,
    });
    const cpu0 = hostCpuMs();
    const s = result<AgentStats>(await collect(h, "sdk.roundtrip"), "sdk.roundtrip");
    const calls = n + Math.min(2000, n >> 2);
    return statsRow("sdk.roundtrip", "warden", s, {
      gateway_rate_limit: "raised",
      host_cpu_us_per_call: ((hostCpuMs() - cpu0) * 1000) / calls,
    });
  } finally {
    await host.close();
  }
}

/** A broker that allows every check (the floor for the broker round trip). */
export function allowAllBroker(path: string, onFirst: () => void) {
  const listener = Deno.listen({ transport: "unix", path });
  const enc = new TextEncoder();
  const conns: Deno.Conn[] = [];
  let checks = 0;
  const serve = async (conn: Deno.Conn) => {
    const dec = new TextDecoder();
    const chunk = new Uint8Array(16384);
    let buf = "";
    try {
      while (true) {
        const n = await conn.read(chunk);
        if (n === null) break;
        buf += dec.decode(chunk.subarray(0, n), { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim() === "") continue;
          const { id } = JSON.parse(line) as { id: number };
          if (checks++ === 0) onFirst();
          const bytes = enc.encode(`{"id":${id},"result":"allow"}\n`);
          let off = 0;
          while (off < bytes.length) off += await conn.write(bytes.subarray(off));
        }
      }
    } catch { /* agent gone */ }
  };
  (async () => {
    try {
      for await (const c of listener) {
        conns.push(c);
        serve(c);
      }
    } catch { /* closed */ }
  })();
  return {
    get checks() {
      return checks;
    },
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

/** A stand-in SDK socket: accepts the bootstrap's connection and never answers. */
export function dummySdk(path: string) {
  const listener = Deno.listen({ transport: "unix", path });
  const conns: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const c of listener) conns.push(c);
    } catch { /* closed */ }
  })();
  return () => {
    listener.close();
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
  };
}

/** One stat-agent run: the agent's figures, checks answered, host CPU per check. */
type BrokerRun = AgentStats & {
  checks: number;
  host_cpu_us_per_check: number;
  /** The Deno argv as it ran (from /proc), with its per-run directories replaced. */
  argv: string[];
  /** The kernel sandbox the host wrapped the agent in, when it has one. */
  sandbox?: string;
  /** The CA file the host gave the agent (`--cert`: the egress CA), as text. */
  certPem?: string;
};

/** The running agent's Deno command line, with `swap` applied to every argument. */
function runningArgv(pid: number, swap: (arg: string) => string): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean).map(swap);
  } catch {
    return [];
  }
}

/** The stat agent under the Warden host (ceiling + policy + audit on every check). */
async function statUnderWarden(
  tmp: string,
  files: Record<string, string>,
): Promise<BrokerRun> {
  const host = newHost(tmp);
  const ws = workspace(tmp, `ws-stat-${crypto.randomUUID()}`, files);
  const agentDir = new RegExp(`${host.stateDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/a\\d+`, "g");
  const swap = (a: string) => a.replaceAll(ws, "<workspace>").replace(agentDir, "<dir>");
  let checks = 0;
  let h: AgentHandle | null = null;
  let argv: string[] = [];
  let certPem: string | undefined;
  const unsubscribe = host.audit.subscribe((e) => {
    if (e.path !== "broker" || e.agent.id !== h?.id) return;
    if (checks++ === 0) {
      argv = runningArgv(h.pid, swap);
      const cert = runningArgv(h.pid, (a) => a).find((a) => a.startsWith("--cert="));
      if (cert) certPem = Deno.readTextFileSync(cert.slice("--cert=".length));
    }
  });
  // A host with a kernel sandbox says so (older hosts have no such method).
  const sandbox = (host as unknown as { sandbox?: () => { path: string | null } }).sandbox?.();
  try {
    h = await host.start({
      module: join(AGENTS, "stat.ts"),
      workspace: ws,
      timeoutMs: 120000,
      // The row measures what one check costs, not the ring's broker rate limit.
      budgets: { brokerRate: 1_000_000 },
    });
    const cpu0 = hostCpuMs();
    const s = result<AgentStats>(await collect(h, "broker.check"), "broker.check");
    return {
      ...s,
      checks,
      host_cpu_us_per_check: ((hostCpuMs() - cpu0) * 1000) / checks,
      argv,
      ...(sandbox?.path ? { sandbox: sandbox.path } : {}),
      ...(certPem ? { certPem } : {}),
    };
  } finally {
    unsubscribe();
    await host.close();
  }
}

/**
 * The same agent command line, with an allow-all broker and a dummy SDK socket (and the same
 * CA file as the Warden arm's, when the host gave it one).
 */
async function statUnderAllowAll(
  tmp: string,
  files: Record<string, string>,
  certPem?: string,
): Promise<BrokerRun> {
  const dir = join(tmp, `allow-all-${crypto.randomUUID()}`);
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ws = Deno.realPathSync(workspace(dir, "workspace", files));
  const importMap = join(dir, "import_map.json");
  Deno.writeTextFileSync(
    importMap,
    JSON.stringify({ imports: { "@warden/sdk": pathToFileURL(join(SDK_DIR, "mod.ts")).href } }),
  );
  const brokerSocket = join(dir, "b.sock");
  const sdkSocket = join(dir, "s.sock");
  const swap = (a: string) => a.replaceAll(ws, "<workspace>").replaceAll(dir, "<dir>");
  let argv: string[] = [];
  let pid = 0;
  const broker = allowAllBroker(brokerSocket, () => (argv = runningArgv(pid, swap)));
  const closeSdk = dummySdk(sdkSocket);
  const module = join(AGENTS, "stat.ts");
  // Own code as the host exposes it: the agent's module files, and the SDK.
  const code = [join(AGENTS, "lib.ts"), module, SDK_DIR].map((p) => Deno.realPathSync(p));
  const certFile = certPem === undefined ? undefined : join(dir, "egress-ca.pem");
  if (certFile) Deno.writeTextFileSync(certFile, certPem!);
  const child = spawnAgent({
    deno: Deno.execPath(),
    bootstrap: BOOTSTRAP,
    agentUrl: pathToFileURL(module).href,
    sdkSocket,
    brokerSocket,
    workspace: ws,
    denoDir: join(dir, "deno_dir"),
    importMap,
    flags: ringFlags(loadRings().doc.rings[2], { workspace: ws, code }),
    heapMb: 256,
    cpuSeconds: 601,
    ...(certFile ? { certFile } : {}),
    stdout: "piped",
    stderr: "piped",
  });
  pid = child.pid;
  const cpu0 = hostCpuMs();
  const timer = setTimeout(() => killGroup(child.pid), 120000);
  try {
    const exited = child.status.then((s) => ({ code: s.code }));
    const lines = await collect({ process: child, exited }, "broker.check allow-all");
    const cpu = hostCpuMs() - cpu0;
    return {
      ...result<AgentStats>(lines, "broker.check allow-all"),
      checks: broker.checks,
      host_cpu_us_per_check: (cpu * 1000) / broker.checks,
      argv,
    };
  } finally {
    clearTimeout(timer);
    broker.close();
    closeSdk();
  }
}

/** c. Permission-broker checks under Warden vs an allow-all broker (interleaved rounds). */
async function benchBroker(
  tmp: string,
  n: number,
  rounds: number,
  log: (line: string) => void,
): Promise<BenchRow[]> {
  const files = {
    "data.txt": "benchmark data\n",
    "params.json": JSON.stringify({ n, warmup: n >> 2 }),
  };
  const warden: (BrokerRun)[] = [];
  const allow: (BrokerRun)[] = [];
  for (let r = 0; r < rounds; r++) {
    warden.push(await statUnderWarden(tmp, files));
    allow.push(await statUnderAllowAll(tmp, files, warden[r].certPem));
  }
  // The round with the median p50 of each (rounds damp machine noise).
  const pick = (xs: (BrokerRun)[]) => [...xs].sort((a, b) => a.p50_us - b.p50_us)[xs.length >> 1];
  const w = pick(warden);
  const a = pick(allow);
  const ratio = w.p50_us / a.p50_us;
  // Both arms must run the same Deno command line for the ratio to mean anything.
  const sameArgv = w.argv.length > 0 && JSON.stringify(w.argv) === JSON.stringify(a.argv);
  if (!sameArgv) {
    log(
      `broker: the arms ran different command lines:\n  warden:    ${
        w.argv.join(" ")
      }\n  allow-all: ${a.argv.join(" ")}`,
    );
  }
  return [
    statsRow("broker.check", "warden", w, {
      broker_checks: w.checks,
      host_cpu_us_per_check: w.host_cpu_us_per_check,
      same_argv: sameArgv,
      kernel_sandbox: w.sandbox ?? null,
      rounds,
      ratio_vs_allow_all: ratio,
      ratio_ops_vs_allow_all: a.ops_per_s / w.ops_per_s,
      ratio_p99_vs_allow_all: w.p99_us / a.p99_us,
      target_ratio: BROKER_TARGET,
      meets_target: ratio <= BROKER_TARGET,
    }),
    statsRow("broker.check allow-all", "allow-all broker", a, {
      broker_checks: a.checks,
      host_cpu_us_per_check: a.host_cpu_us_per_check,
      same_argv: sameArgv,
      rounds,
    }),
  ];
}

/** d. From handle.kill() on a busy-looping agent until handle.exited resolves. */
async function benchKill(tmp: string, runs: number): Promise<BenchRow> {
  const host = newHost(tmp);
  const ms: number[] = [];
  try {
    for (let i = -1; i < runs; i++) { // one warm-up run
      const h: AgentHandle = await host.start({
        module: join(AGENTS, "spin.ts"),
        timeoutMs: 60000,
      });
      let spinning!: () => void;
      const ready = new Promise<void>((r) => (spinning = r));
      const out = Promise.all([
        pipeLines(h.process.stdout, (l) => l === "spinning" && spinning()),
        pipeLines(h.process.stderr, () => {}),
      ]);
      await Promise.race([ready, h.exited.then(() => Promise.reject(new Error("spin exited")))]);
      await sleep(50);
      const t0 = performance.now();
      const exit: AgentExit = await h.kill("bench");
      const dt = performance.now() - t0;
      await out;
      if (exit.killed !== "bench" || exit.signal !== "SIGKILL") {
        throw new Error(`kill.latency: unexpected exit ${JSON.stringify(exit)}`);
      }
      if (i >= 0) ms.push(dt);
    }
  } finally {
    await host.close();
  }
  return msRow("kill.latency", ms);
}

/** e. Many agents at once, each making sequential no-op tool calls. */
async function benchConcurrent(tmp: string, agents: number, n: number): Promise<BenchRow> {
  const host = newHost(tmp);
  const rssBefore = Deno.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 50);
  try {
    const specs: AgentSpec[] = [];
    for (let i = 0; i < agents; i++) {
      specs.push({
        module: join(AGENTS, "burst.ts"),
        workspace: workspace(tmp, `ws-burst-${i}`, { "params.json": JSON.stringify({ n }) }),
        timeoutMs: 300000,
      });
    }
    const cpu0 = hostCpuMs();
    const t0 = performance.now();
    const handles = await Promise.all(specs.map((s) => host.start(s)));
    const outs = await Promise.all(handles.map((h) => collect(h, "host.concurrent")));
    const wall = (performance.now() - t0) / 1000;
    const cpu = hostCpuMs() - cpu0;
    peak = Math.max(peak, Deno.memoryUsage().rss);
    const results = outs.map((o) => result<{ ops_per_s: number; lat: number[] }>(o, "burst"));
    const lat = sorted(results.flatMap((r) => r.lat));
    const perAgent = sorted(results.map((r) => r.ops_per_s));
    return {
      name: "host.concurrent",
      engine: "warden",
      p50_us: pct(lat, 0.5),
      p99_us: pct(lat, 0.99),
      p999_us: pct(lat, 0.999),
      ops_per_s: (agents * n) / wall,
      samples: lat.length,
      agents,
      calls_per_agent: n,
      wall_s: wall,
      agent_ops_per_s_min: perAgent[0],
      agent_ops_per_s_p50: pct(perAgent, 0.5),
      host_cpu_us_per_call: (cpu * 1000) / (agents * n),
      host_rss_mb: peak / 1048576,
      host_rss_before_mb: rssBefore / 1048576,
      latency: "per SDK call, all agents pooled",
    };
  } finally {
    clearInterval(sampler);
    await host.close();
  }
}

export async function runHostBench(o: HostBenchOptions): Promise<BenchRow[]> {
  const tmp = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-bench-" }));
  const rows: BenchRow[] = [];
  try {
    rows.push(await benchSpawn(join(tmp, "spawn"), o.quick ? 10 : 30));
    o.log("host: spawn done");
    rows.push(await benchRoundtrip(join(tmp, "roundtrip"), o.quick ? 2000 : 20000, 3));
    o.log("host: sdk round trip done");
    // Three interleaved rounds even when quick: one round's p50 ratio swings by 2x on a loaded
    // machine (the agent's wake-up cost follows the host's load), the median round much less.
    rows.push(...await benchBroker(join(tmp, "broker"), 5000, 3, o.log));
    o.log("host: broker checks done");
    rows.push(await benchKill(join(tmp, "kill"), o.quick ? 10 : 30));
    o.log("host: kill latency done");
    rows.push(
      await benchConcurrent(join(tmp, "concurrent"), o.quick ? 10 : 50, o.quick ? 200 : 1000),
    );
    o.log("host: concurrent agents done");
  } finally {
    try {
      Deno.removeSync(tmp, { recursive: true });
    } catch { /* best effort */ }
  }
  return rows;
}
