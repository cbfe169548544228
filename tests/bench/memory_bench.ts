/**
 * Memory benchmarks: `memory.put`, `memory.get` and a prefix `memory.list` (limit 100) through
 * the SDK, timed inside a real agent, with the store already holding 10k (and, without --quick,
 * 1M) entries. The entries are loaded straight into the store first (one transaction; loading
 * 1M through the SDK would take the bench minutes and measures nothing else); each put, get and
 * list is then one governed, audited SDK call. Rows: `memory.put`, `memory.get`,
 * `memory.list_prefix`, with `entries` = the store's size. `--only fleet` adds the same rows on
 * the fleet database's store (a throwaway PostgreSQL cluster on the same machine, 10k entries):
 * `memory.fleet.put`, `memory.fleet.get`, `memory.fleet.list_prefix`.
 */
import { join } from "node:path";
import { AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { pipeLines } from "../../runtime/supervisor/output.ts";
import type { BenchRow } from "./stats.ts";
import { type AgentStats, statsRow } from "./host_bench.ts";
import { connectFleetDb, type FleetDb, migrate } from "../../runtime/fleet/mod.ts";
import { PgMemoryStore } from "../../runtime/fleet/memory_store.ts";
import { startCluster } from "../fleet/pg.ts";

const AGENT = new URL("./agents/memory.ts", import.meta.url).pathname;
const POLICY = `apiVersion: warden/v1
kind: Policy
name: memory-bench
default: deny
rules:
  - id: bench-memory
    effect: allow
    action: [memory.read, memory.write]
    when: { resource: { prefix: "bench/" } }
  - id: bench-params
    effect: allow
    action: fs.read
    when: { path: { within: ["\${workspace}"] } }
`;

/** Load `count` entries into the "bench" namespace (k0000000 …), in batches. */
async function load(host: AgentHost, count: number): Promise<void> {
  const now = Date.now();
  const quota = { entries: 10_000_000, bytes: 16 * 1024 ** 3 };
  const provenance = {
    writer: "did:key:z6MkBenchLoader",
    writerName: "loader",
    ring: 2,
    trust: 900,
    source: { kind: "agent" as const, ref: null },
    at: now,
  };
  for (let from = 0; from < count; from += 10_000) {
    const batch = [];
    for (let i = from; i < Math.min(count, from + 10_000); i++) {
      batch.push({
        namespace: "bench",
        key: `k${String(i).padStart(7, "0")}`,
        value: JSON.stringify({ text: `loaded note ${i}`, i }),
        tags: ["bench"],
        provenance,
        expiresAt: null,
        status: "visible" as const,
        note: null,
      });
    }
    await host.memory.store.putMany(batch, quota, now);
  }
}

async function benchAt(
  tmp: string,
  entries: number,
  n: number,
  lists: number,
  log: (l: string) => void,
  fleet?: FleetDb,
) {
  const dir = join(tmp, `memory-${entries}`);
  const ws = join(dir, "ws");
  Deno.mkdirSync(ws, { recursive: true });
  const policyPath = join(dir, "policy.yaml");
  Deno.writeTextFileSync(policyPath, POLICY);
  Deno.writeTextFileSync(join(ws, "params.json"), JSON.stringify({ n, lists, loaded: entries }));
  const host = new AgentHost({
    policy: loadPolicy([policyPath], { builtin: true }),
    rings: loadRings(),
    stateDir: join(dir, "state"),
    auditPath: join(dir, "audit.jsonl"),
    memory: { quota: { entries: 10_000_000, bytes: 16 * 1024 ** 3 } },
  });
  if (fleet) host.memory.use(new PgMemoryStore(fleet, "bench"));
  const store = fleet ? "fleet." : "";
  try {
    const t0 = performance.now();
    await load(host, entries);
    log(`memory: ${entries} entries loaded in ${Math.round(performance.now() - t0)} ms`);
    const h = await host.start({
      module: AGENT,
      workspace: ws,
      timeoutMs: 600_000,
      limits: { ratePerSecond: 1e9, burst: 1e9 },
    });
    const lines: string[] = [];
    let err = "";
    const [, , exit] = await Promise.all([
      pipeLines(h.process.stdout, (l) => lines.push(l)),
      pipeLines(h.process.stderr, (l) => (err += l + "\n")),
      h.exited,
    ]);
    if (exit.code !== 0) throw new Error(`memory bench agent exited ${exit.code}\n${err}`);
    return lines.filter((l) => l.startsWith("{")).map((l) => {
      const s = JSON.parse(l) as AgentStats & { case: string };
      return statsRow(`memory.${store}${s.case}`, "warden", s, { entries }) as BenchRow;
    });
  } finally {
    await host.close();
  }
}

/** The memory rows at 10k entries, and at 1M unless quick. */
export async function runMemoryBench(
  o: { quick: boolean; log: (line: string) => void },
): Promise<BenchRow[]> {
  const tmp = await Deno.makeTempDir({ prefix: "warden-memory-bench-" });
  try {
    const rows: BenchRow[] = [];
    const n = o.quick ? 1000 : 5000;
    for (const entries of o.quick ? [10_000] : [10_000, 1_000_000]) {
      rows.push(...await benchAt(tmp, entries, n, o.quick ? 100 : 500, o.log));
      o.log(`memory: ${entries} entries done`);
    }
    return rows;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** The fleet store's rows (`--only fleet`): 10k entries in a throwaway local cluster. */
export async function runMemoryFleetBench(
  o: { quick: boolean; log: (line: string) => void },
): Promise<BenchRow[]> {
  const tmp = await Deno.makeTempDir({ prefix: "warden-memory-fleet-bench-" });
  const cluster = startCluster();
  const db = connectFleetDb(await cluster.createDatabase());
  try {
    await migrate(db);
    const n = o.quick ? 500 : 2000;
    const rows = await benchAt(tmp, 10_000, n, o.quick ? 100 : 300, o.log, db);
    o.log("memory (fleet): 10000 entries done");
    return rows;
  } finally {
    await db.close();
    cluster.destroy();
    await Deno.remove(tmp, { recursive: true });
  }
}
