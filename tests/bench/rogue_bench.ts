/**
 * `host.rogue`: many copies of examples/rogue_agent.ts started at once on one host. Each tries
 * its attacks (secrets, exfiltration, a shell, native code), every one decided and audited, and
 * is then demoted or revoked by trust, or killed by the bench when it starts to spin. Latency is
 * each agent's life from `start()` to its last process's exit; the row reports the host's peak
 * RSS and each agent process's peak RSS (sampled from /proc every 100 ms).
 */
import { join } from "node:path";
import type { AgentHandle } from "../../runtime/host.ts";
import { pipeLines } from "../../runtime/supervisor/output.ts";
import { newHost, workspace } from "./host_bench.ts";
import { type BenchRow, pct } from "./stats.ts";

const ROGUE = new URL("../../examples/rogue_agent.ts", import.meta.url).pathname;

/** Resident set of a process in bytes (null when it is gone). */
function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Every descendant of `root` (from /proc/<pid>/stat's ppid field). */
function descendants(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      let l = kids.get(ppid);
      if (!l) kids.set(ppid, l = []);
      l.push(Number(e.name));
    } catch { /* gone */ }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    for (const k of kids.get(stack.pop()!) ?? []) {
      out.push(k);
      stack.push(k);
    }
  }
  return out;
}

/**
 * Follow one agent through restarts (ring changes) to its last exit; kill it once it spins.
 * Returns how many of its attacks it reported as having succeeded.
 */
async function lifeOf(first: AgentHandle): Promise<number> {
  let succeeded = 0;
  let h: AgentHandle | null = first;
  while (h) {
    const cur: AgentHandle = h;
    await Promise.all([
      pipeLines(cur.process.stdout, (l) => {
        if (l.includes(": SUCCEEDED")) succeeded++;
        if (l.startsWith("all blocked")) cur.kill("bench").catch(() => {});
      }),
      pipeLines(cur.process.stderr, () => {}),
      cur.exited,
    ]);
    h = await cur.next;
  }
  return succeeded;
}

/** The row, in a fresh directory that is removed afterwards. */
export async function runRogueBench(o: { quick: boolean; log: (l: string) => void }) {
  const tmp = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-bench-rogue-" }));
  try {
    const row = await benchRogue(join(tmp, "rogue"), o.quick ? 20 : 200);
    o.log("host: rogue agents done");
    return [row];
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
}

async function benchRogue(tmp: string, agents: number): Promise<BenchRow> {
  const host = newHost(tmp);
  const hostBefore = Deno.memoryUsage().rss;
  let hostPeak = hostBefore;
  const agentPeak = new Map<number, number>();
  const sample = () => {
    hostPeak = Math.max(hostPeak, Deno.memoryUsage().rss);
    for (const pid of descendants(Deno.pid)) {
      const rss = rssOf(pid);
      if (rss !== null) agentPeak.set(pid, Math.max(agentPeak.get(pid) ?? 0, rss));
    }
  };
  const sampler = setInterval(sample, 100);
  const seq0 = host.audit.size;
  try {
    const t0 = performance.now();
    const lives = await Promise.all(
      Array.from({ length: agents }, async (_, i) => {
        const s = performance.now();
        const h = await host.start({
          module: ROGUE,
          name: `rogue-${i}`,
          workspace: workspace(tmp, `ws-rogue-${i}`, {}),
          timeoutMs: 300000,
        });
        const won = await lifeOf(h);
        return { ms: performance.now() - s, won };
      }),
    );
    const wall = (performance.now() - t0) / 1000;
    sample();
    const ms = Float64Array.from(lives.map((l) => l.ms)).sort();
    // Deno processes only (the launcher and short-lived helpers are much smaller).
    const rss = Float64Array.from([...agentPeak.values()].filter((b) => b > 8 << 20)).sort();
    const entries = host.audit.recent.filter((e) => e.seq >= seq0);
    const succeeded = lives.reduce((n, l) => n + l.won, 0);
    return {
      name: "host.rogue",
      engine: "warden",
      p50_us: pct(ms, 0.5) * 1000,
      p99_us: pct(ms, 0.99) * 1000,
      p999_us: pct(ms, 0.999) * 1000,
      ops_per_s: agents / wall,
      samples: agents,
      agents,
      wall_s: wall,
      latency: "per agent, start() to its last exit",
      audit_entries: entries.length,
      attacks_allowed: succeeded, // attacks the agents saw succeed (their "SUCCEEDED" lines)
      host_rss_mb: hostPeak / 1048576,
      host_rss_before_mb: hostBefore / 1048576,
      agent_processes: rss.length,
      agent_rss_mb_p50: pct(rss, 0.5) / 1048576,
      agent_rss_mb_max: rss.length ? rss[rss.length - 1] / 1048576 : NaN,
    };
  } finally {
    clearInterval(sampler);
    await host.close();
  }
}
