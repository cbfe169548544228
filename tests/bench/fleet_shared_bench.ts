/**
 * Fleet timings of the shared state (FLEET.md §9 A3, A4) on a throwaway local PostgreSQL:
 * audit shipping throughput (3 shippers at once, 500-line batches), `audit verify --fleet`
 * over every shipped entry (3 × 100k = 300k; 3 × 20k with --quick), and saga takeover (a
 * dead host's lease expires → another host's sweeper claims and completes the saga).
 */
import { join } from "node:path";
import type { AuditFields } from "../../governance/audit/mod.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { connectFleetDb, type FleetDb } from "../../runtime/fleet/db.ts";
import { migrate } from "../../runtime/fleet/migrate.ts";
import { AuditShipper } from "../../runtime/fleet/audit_ship.ts";
import { verifyFleet } from "../../runtime/fleet/audit_verify.ts";
import { PgSagaJournal, SagaSweeper } from "../../runtime/fleet/sagas.ts";
import { SagaOrchestrator } from "../../runtime/saga/orchestrator.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { AGENT, makeGovernor, saga } from "../saga/helpers.ts";
import { ledgerExecute } from "../saga/ledger_tools.ts";
import { startCluster } from "../fleet/pg.ts";
import { type BenchRow, pct } from "./stats.ts";

function row(name: string, ms: number[], ops: number, notes: string): BenchRow {
  const s = [...ms].sort((a, b) => a - b);
  return {
    name,
    engine: "warden fleet (postgres)",
    p50_us: pct(s, 0.5) * 1000,
    p99_us: pct(s, 0.99) * 1000,
    p999_us: pct(s, 0.999) * 1000,
    ops_per_s: ops,
    samples: s.length,
    notes,
  };
}

const fields = (i: number): AuditFields => ({
  ts: new Date(1_700_000_000_000 + i).toISOString(),
  path: "broker",
  agent: { id: `did:key:z6MkBench${i % 50}`, name: `bench-${i % 50}`, ring: 2 },
  action: i % 2 ? "fs.read" : "net.connect",
  resource: `/workspace/project/src/module-${i}.ts`,
  effect: i % 5 ? "allow" : "deny",
  rule: i % 5 ? "workspace-read" : null,
  reason: i % 5 ? "allowed by rule workspace-read" : "no rule allows this (default deny)",
});

async function shipping(db: FleetDb, dir: string, n: number): Promise<BenchRow[]> {
  const logs = [];
  for (let h = 0; h < 3; h++) {
    const signer = await new Keystore(join(dir, `k${h}`)).signer("host");
    const path = join(dir, `audit-${h}.jsonl`);
    const log = new AuditLog(path, { signer, checkpointEvery: 1000, checkpointMs: 600_000 });
    for (let i = 0; i < n; i++) log.append(fields(i));
    await log.close();
    await db.q(
      "host",
      (s) =>
        s`INSERT INTO hosts (id, did, lease_expires) VALUES (${`h${h}`}, ${signer.did}, now())`,
    );
    logs.push(path);
  }
  const t0 = performance.now();
  await Promise.all(
    logs.map((path, h) =>
      new AuditShipper({ db, hostId: `h${h}`, path }).drain(600_000).then((ok) => {
        if (!ok) throw new Error("audit shipping did not drain");
      })
    ),
  );
  const shipMs = performance.now() - t0;
  const t1 = performance.now();
  const verdicts = await verifyFleet(db);
  const verifyMs = performance.now() - t1;
  if (!verdicts.every((v) => v.ok)) throw new Error(`fleet verify: ${verdicts[0].problem}`);
  const total = 3 * n;
  return [
    row(
      "audit shipping (3 hosts at once)",
      [shipMs],
      Math.round(total / (shipMs / 1000)),
      `${total} lines of ~330 B, 500-line batches, ON CONFLICT DO NOTHING; wall time`,
    ),
    row(
      "audit verify --fleet",
      [verifyMs],
      Math.round(total / (verifyMs / 1000)),
      `${total} entries re-verified (chain + signed checkpoints per host); wall time`,
    ),
  ];
}

async function takeover(db: FleetDb, dir: string, trials: number): Promise<BenchRow> {
  const ms: number[] = [];
  const live = (hostId: string) => ({ hostId, live: () => true });
  const b = new PgSagaJournal(db, live("B"), "d");
  const done = new Map<string, () => void>();
  const orchB = new SagaOrchestrator({
    journal: b,
    governor: makeGovernor(),
    execute: ledgerExecute(join(dir, "ledger-b.jsonl")),
  });
  const sweeper = new SagaSweeper({
    journal: b,
    adopt: async (records) => {
      for (const s of await orchB.adopt(records)) done.get(s.id)?.();
    },
  });
  sweeper.start();
  await db.q(
    "B",
    (s) =>
      s`INSERT INTO hosts (id, did, lease_expires) VALUES ('B', 'did:b', now() + interval '1 hour')`,
  );
  for (let i = 0; i < trials; i++) {
    const a = `A${i}`;
    await db.q(
      "A",
      (s) =>
        s`INSERT INTO hosts (id, did, lease_expires) VALUES (${a}, 'did:a', now() + interval '1 hour')`,
    );
    // A starts the saga; its second step hangs (A is then "killed").
    const orchA = new SagaOrchestrator({
      journal: new PgSagaJournal(db, live(a), "d"),
      governor: makeGovernor(),
      execute: ledgerExecute(join(dir, `ledger-${i}.jsonl`), ["ship"]),
    });
    const id = `bench-${i}`;
    orchA.run(AGENT, saga(["reserve", "ship", "notify"]), { id }).catch(() => {});
    for (;;) {
      const [r] = await db.q("wait", (s) => s`SELECT next_n FROM sagas WHERE saga_id = ${id}`);
      if (r && Number(r.next_n) >= 4) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const finished = new Promise<void>((r) => done.set(id, r));
    const t0 = performance.now();
    await db.q("expire", (s) => s`UPDATE hosts SET lease_expires = now() WHERE id = ${a}`);
    await finished;
    ms.push(performance.now() - t0);
  }
  await sweeper.close();
  return row(
    "saga takeover (lease expired → resumed and completed elsewhere)",
    ms,
    0,
    `${trials} trials (p99.9 is the worst); sweep every 1 s jittered ±50 %, + the 10 s lease ` +
      "TTL in real use",
  );
}

/** The shared-state fleet rows (part of `--only fleet`). */
export async function runFleetSharedBench(
  o: { quick: boolean; log: (s: string) => void },
): Promise<BenchRow[]> {
  const cluster = startCluster();
  const dir = Deno.makeTempDirSync({ prefix: "warden-bench-fleet-" });
  const db = connectFleetDb(cluster.url(), { deadlineMs: 120_000 });
  try {
    await migrate(db);
    const n = o.quick ? 20_000 : 100_000;
    o.log(`fleet: shipping and verifying ${3 * n} audit entries`);
    const rows = await shipping(db, dir, n);
    o.log("fleet: saga takeover");
    rows.push(await takeover(db, dir, o.quick ? 5 : 20));
    return rows;
  } finally {
    await db.close();
    cluster.destroy();
    Deno.removeSync(dir, { recursive: true });
  }
}
