/**
 * A5: the database restarts under load (`pg_ctl restart -m fast`, then `-m immediate`) while
 * a host ships audit lines, applies trust events and journals sagas: no audit line missing or
 * doubled (the shipped chain verifies), each trust event applied once (the score is the pure
 * replay of `trust_events`), every saga journal complete (contiguous, one terminal record).
 * The test runs its own cluster (it restarts it).
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import type { AuditFields } from "../../governance/audit/mod.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { connectFleetDb } from "../../runtime/fleet/db.ts";
import { Lease } from "../../runtime/fleet/lease.ts";
import { migrate } from "../../runtime/fleet/migrate.ts";
import { AuditShipper } from "../../runtime/fleet/audit_ship.ts";
import { verifyFleet } from "../../runtime/fleet/audit_verify.ts";
import { FleetTrust, FleetTrustEvent, replayTrust } from "../../runtime/fleet/trust.ts";
import {
  fenceMsOf,
  leaseFence,
  OwnershipLost,
  PgSagaJournal,
  SagaSweeper,
} from "../../runtime/fleet/sagas.ts";
import { SagaOrchestrator } from "../../runtime/saga/orchestrator.ts";
import { TrustService } from "../../runtime/trust/service.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { AGENT, makeGovernor, saga } from "../saga/helpers.ts";
import { ledgerExecute, readLedger } from "../saga/ledger_tools.ts";
import { startCluster } from "./pg.ts";

const TERMINAL = ["saga.completed", "saga.compensated", "saga.failed"];

const fields = (i: number): AuditFields => ({
  ts: new Date().toISOString(),
  path: "broker",
  agent: { id: `did:key:z6MkLoad${i % 5}`, name: `load-${i % 5}`, ring: 2 },
  action: "fs.read",
  resource: `/ws/${i}`,
  effect: i % 4 ? "allow" : "deny",
  rule: null,
  reason: `load ${i}`,
});

Deno.test({
  name: "fleet A5: database restarts (fast, then immediate) under load lose and double nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cluster = startCluster();
    const dir = Deno.makeTempDirSync({ prefix: "warden-fleet-restart-" });
    const db = connectFleetDb(cluster.url(), { deadlineMs: 2_000 });
    try {
      await migrate(db);
      const signer = await new Keystore(join(dir, "keys")).signer("host");
      const lease = new Lease(db, { hostId: "H", did: signer.did }, 10_000, 500);
      assert(await lease.renew());
      lease.start();
      const log = new AuditLog(join(dir, "audit.jsonl"), { signer, checkpointEvery: 200 });
      const shipper = new AuditShipper({ db, hostId: "H", path: join(dir, "audit.jsonl") });
      shipper.start();
      const trust = new TrustService();
      const ft = new FleetTrust({
        db,
        hostId: "H",
        trust,
        outboxPath: join(dir, "trust-outbox.jsonl"),
        pollMs: 200,
        coalesceMs: 200,
      });
      await ft.start();
      const journal = new PgSagaJournal(db, leaseFence(lease, fenceMsOf(10_000)), "d", 100);
      const ledger = join(dir, "ledger.jsonl");
      const orch = new SagaOrchestrator({
        journal,
        governor: makeGovernor(),
        execute: ledgerExecute(ledger),
      });
      // A saga whose host fenced itself (no lease renewal for 8 s: the pool can stay stuck
      // for that long after a crash) stops; the sweeper re-claims it once the lease is back.
      const sweeper = new SagaSweeper({
        journal,
        adopt: (records) => orch.adopt(records),
        everyMs: 300,
        holdMs: 500,
      });
      sweeper.start();

      // The load: decisions audited, trust events (penalties and coalesced allows), sagas.
      let stop = false;
      let entries = 0;
      let penalties = 0;
      let allows = 0;
      const sagas: Promise<unknown>[] = [];
      const load = (async () => {
        for (let i = 0; !stop; i++) {
          log.append(fields(i));
          log.commit();
          entries++;
          const did = `did:key:z6MkLoad${i % 5}`;
          if (i % 7 === 0) {
            trust.record(did, { type: "denied", at: Date.now() }, true);
            penalties++;
          } else {
            trust.record(did, { type: "allowed", at: Date.now() }, true);
            allows++;
          }
          if (i % 40 === 0) {
            const run = orch.run(AGENT, saga(["a", "b", "c"]), { id: `s-${i}` });
            run.catch(() => {/* asserted below */});
            sagas.push(run);
          }
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
      await pause(1_500);
      // pg_ctl restart blocks this process while it runs: requests in flight at the moment
      // of the shutdown or crash fail and are retried. (Crashes that do not block the process,
      // so that new requests meet a database that is down: a5_pool_reset_test.ts.)
      cluster.restart("fast");
      await pause(1_500);
      cluster.restart("immediate");
      await pause(1_500);
      stop = true;
      await load;
      const ends = await Promise.allSettled(sagas);
      // A run may end in OwnershipLost (self-fenced), never in anything else.
      assertEquals(
        ends.flatMap((e) =>
          e.status === "rejected" && !(e.reason instanceof OwnershipLost) ? [String(e.reason)] : []
        ),
        [],
      );
      const end = Date.now() + 60_000;
      for (;;) {
        const [o] = await db.q(
          "open",
          (q) => q`SELECT count(*)::int AS n FROM sagas WHERE status <> 'completed'`,
        ).catch(() => [{ n: -1 }]);
        if (o.n === 0) break;
        if (Date.now() > end) throw new Error(`${o.n} saga(s) not completed`);
        await pause(200);
      }
      await sweeper.close();
      await log.close();
      await ft.close();
      assert(await shipper.drain(30_000), `audit shipping: ${shipper.lastError}`);
      await shipper.close();

      // Audit: every local line once, and the shipped chain verifies.
      const [a] = await db.q(
        "audit",
        (s) =>
          s`SELECT count(*)::int AS n, max(seq)::int AS m FROM audit_entries WHERE host_id = 'H'`,
      );
      assertEquals([a.n, a.m], [entries, entries - 1]);
      const [v] = await verifyFleet(db);
      assert(v.ok, `${v.problem}`);

      // Trust: nothing left behind, each event once, score = pure replay of its events.
      assertEquals(ft.backlog, 0);
      let seenPenalties = 0;
      let seenAllows = 0;
      for (let k = 0; k < 5; k++) {
        const did = `did:key:z6MkLoad${k}`;
        const rows = await db.q(
          "events",
          (s) => s`SELECT event FROM trust_events WHERE did = ${did} ORDER BY version`,
        );
        const evs = rows.map((r) => FleetTrustEvent.parse(r.event));
        for (const e of evs) {
          if (e.type === "allowed") seenAllows += "n" in e ? e.n : 1;
          else seenPenalties++;
        }
        const [row] = await db.q(
          "score",
          (s) => s`SELECT score, version::int AS version FROM trust_scores WHERE did = ${did}`,
        );
        assertEquals(row.version, evs.length);
        assertEquals(row.score, replayTrust(evs)!.score);
      }
      assertEquals([seenPenalties, seenAllows], [penalties, allows]);

      // Sagas: each completed, its journal contiguous with one terminal record, effects once.
      const states = await db.q("sagas", (s) => s`SELECT saga_id, status FROM sagas`);
      assertEquals(states.length, sagas.length);
      assert(states.every((s) => s.status === "completed"), JSON.stringify(states));
      for (const s of states) {
        const recs = await db.q(
          "records",
          (q) =>
            q`SELECT n, record->>'type' AS type FROM saga_records WHERE saga_id = ${s.saga_id}
            ORDER BY n`,
        );
        assertEquals(recs.map((r) => r.n), recs.map((_, i) => i));
        assertEquals(recs.filter((r) => TERMINAL.includes(r.type as string)).length, 1);
      }
      const effects = readLedger(ledger).filter((l) => l.event === "effect").map((l) => l.key);
      assertEquals(effects.length, new Set(effects).size);
      assertEquals(effects.length, sagas.length * 3);
      await lease.close();
    } finally {
      await db.close();
      cluster.destroy();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
