/**
 * Fleet trust (A7, §6.3): events applied exactly once (racing hosts, replays), the score is the
 * pure replay of `trust_events`, allows coalesced, the outbox survives the database being
 * down, a crossing below 100 bans the did in the revocation stream, other hosts read the score.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { connectFleetDb, type FleetDb } from "../../runtime/fleet/db.ts";
import { migrate } from "../../runtime/fleet/migrate.ts";
import {
  AllowCoalescer,
  applyTrustEvent,
  FleetTrust,
  FleetTrustEvent,
  type Pending,
  replayTrust,
} from "../../runtime/fleet/trust.ts";
import { appendRevocation } from "../../runtime/fleet/revocations.ts";
import { TrustService } from "../../runtime/trust/service.ts";
import { freePort } from "../server/host_process.ts";
import { freshDatabase } from "./pg.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const DID = "did:key:z6MkFleetTrustRogue";

async function setup(n = 1): Promise<FleetDb[]> {
  const url = await freshDatabase();
  const dbs = Array.from({ length: n }, () => connectFleetDb(url));
  await migrate(dbs[0]);
  return dbs;
}

async function events(db: FleetDb, did: string): Promise<FleetTrustEvent[]> {
  const rows = await db.q(
    "events",
    (s) => s`SELECT event FROM trust_events WHERE did = ${did} ORDER BY version`,
  );
  return rows.map((r) => FleetTrustEvent.parse(r.event));
}

async function row(db: FleetDb, did: string) {
  const [r] = await db.q(
    "row",
    (s) => s`SELECT score, at, version::int AS version FROM trust_scores WHERE did = ${did}`,
  );
  return r;
}

Deno.test({
  name: "fleet trust: one event applied by three racing hosts and replayed counts once",
  ...opts,
  fn: async () => {
    const dbs = await setup(3);
    try {
      const p: Pending = {
        id: crypto.randomUUID(),
        did: DID,
        event: { type: "violation", severity: "high", at: 1000 },
      };
      const rs = await Promise.all(
        [...dbs, ...dbs].map((db, i) =>
          db.tx("apply", (tx) => applyTrustEvent(tx, `host-${i % 3}`, p, {}))
        ),
      );
      assertEquals(rs.filter((r) => r.applied).length, 1);
      const r = await row(dbs[0], DID);
      assertEquals([r.score, r.version], [550, 1]);
      assertEquals((await events(dbs[0], DID)).length, 1);
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }
  },
});

Deno.test({
  name: "fleet trust: many events from three hosts: the score is the pure replay of the events",
  ...opts,
  fn: async () => {
    const dbs = await setup(3);
    try {
      const kinds: FleetTrustEvent[] = [
        { type: "denied", at: 0 },
        { type: "allowed", at: 0, n: 7 },
        { type: "violation", severity: "low", at: 0 },
        { type: "saga_completed", at: 0 },
        { type: "slo_breach", at: 0 },
      ];
      const all: Pending[] = Array.from({ length: 60 }, (_, i) => ({
        id: crypto.randomUUID(),
        did: DID,
        event: { ...kinds[i % kinds.length], at: 5_000 + i * 1_000 } as FleetTrustEvent,
      }));
      // Each host applies its share, and every event is also replayed by another host.
      await Promise.all(dbs.map(async (db, h) => {
        for (const [i, p] of all.entries()) {
          if (i % 3 === h || i % 3 === (h + 1) % 3) {
            await db.tx("apply", (tx) => applyTrustEvent(tx, `host-${h}`, p, {}));
          }
        }
      }));
      const evs = await events(dbs[0], DID);
      assertEquals(evs.length, all.length);
      const r = await row(dbs[0], DID);
      assertEquals(r.version, all.length);
      assertEquals(r.score, replayTrust(evs)!.score);
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }
  },
});

Deno.test("fleet trust: allows coalesce per did per second; penalties are not held", () => {
  const c = new AllowCoalescer(1000);
  for (let i = 0; i < 50; i++) assertEquals(c.add(DID, 10_000 + i), []);
  assertEquals(c.add("did:key:other", 10_500), []);
  const due = c.add(DID, 11_000);
  assertEquals(due.map((p) => [p.did, p.event]), [[DID, { type: "allowed", at: 10_000, n: 50 }]]);
  assertEquals(c.due(Infinity).map((p) => p.did).sort(), ["did:key:other", DID].sort());
});

Deno.test({
  name: "fleet trust: database down: events wait in the fsync'd outbox, replayed once",
  ...opts,
  fn: async () => {
    const [db] = await setup();
    const dir = Deno.makeTempDirSync({ prefix: "warden-fleet-trust-" });
    const outbox = `${dir}/trust-outbox.jsonl`;
    const down = connectFleetDb(`postgres://warden@127.0.0.1:${freePort()}/postgres`, {
      deadlineMs: 1000,
    });
    try {
      const local = new TrustService();
      const a = new FleetTrust({ db: down, hostId: "A", trust: local, outboxPath: outbox });
      await a.start();
      local.record(DID, { type: "violation", severity: "critical", at: 2000 });
      local.record(DID, { type: "denied", at: 3000 });
      await a.flushed();
      // The cache moved at once (demotions apply locally); the database saw nothing.
      assertEquals(Math.round(local.score(DID, 3000)), 395);
      assert(a.lastError !== null);
      const lines = Deno.readTextFileSync(outbox).trim().split("\n");
      assertEquals(lines.length, 2);
      await a.close();
      // The host restarts with the database back; a torn line from a crash is cut off.
      Deno.writeTextFileSync(outbox, Deno.readTextFileSync(outbox) + '{"id":"to', {
        append: false,
      });
      const b = new FleetTrust({ db, hostId: "A", trust: new TrustService(), outboxPath: outbox });
      await b.start();
      assertEquals(b.backlog, 0);
      assertEquals(Deno.readTextFileSync(outbox), "");
      // The same outbox replayed again (a crash before the truncate) changes nothing.
      Deno.writeTextFileSync(outbox, lines.join("\n") + "\n");
      const c = new FleetTrust({ db, hostId: "A", trust: new TrustService(), outboxPath: outbox });
      await c.start();
      const r = await row(db, DID);
      assertEquals([Math.round(r.score), r.version], [395, 2]);
      assertEquals((await events(db, DID)).length, 2);
      await b.close();
      await c.close();
    } finally {
      await db.close();
      await down.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "fleet trust: crossing below 100 bans the did once; another host reads the score",
  ...opts,
  fn: async () => {
    const [dbA, dbB] = await setup(2);
    try {
      const ban = (tx: Parameters<typeof appendRevocation>[0], did: string, reason: string) =>
        appendRevocation(
          tx,
          { kind: "agent_ban", target: did, reason, issuedBy: "host:A" },
          "poll",
        );
      const onA = new TrustService();
      const a = new FleetTrust({ db: dbA, hostId: "A", trust: onA, ban });
      const changed: [string, number, number][] = [];
      const onB = new TrustService();
      const b = new FleetTrust({
        db: dbB,
        hostId: "B",
        trust: onB,
        changed: (did, before, after) => changed.push([did, before, after]),
      });
      await a.start();
      await b.start();
      const now = Date.now();
      for (let i = 0; i < 3; i++) {
        onA.record(DID, { type: "violation", severity: "critical", at: now + i });
      }
      await a.flushed();
      const revs = await dbA.q(
        "revs",
        (s) => s`SELECT kind, target, reason FROM revocations ORDER BY pos`,
      );
      assertEquals(revs.map((r) => [r.kind, r.target]), [["agent_ban", DID]]);
      assert(/trust revoked: score \d+ < 100/.test(revs[0].reason as string));
      // One more penalty below 100: no second ban.
      onA.record(DID, { type: "denied", at: now + 10 });
      await a.flushed();
      assertEquals(
        (await dbA.q("n", (s) => s`SELECT count(*)::int AS n FROM revocations`))[0].n,
        1,
      );
      // B had never seen the agent: it reads A's score from the database.
      assertEquals(Math.round(onB.score(DID)), 650);
      await b.poll();
      assert(onB.score(DID) < 100, `B's score ${onB.score(DID)}`);
      assertEquals(changed.length, 1);
      assertEquals(changed[0][0], DID);
      assert(changed[0][1] > changed[0][2]);
      await a.close();
      await b.close();
    } finally {
      await dbA.close();
      await dbB.close();
    }
  },
});

Deno.test({
  name: "fleet trust: penalties still in the outbox are kept in the cache (no stale promotion)",
  ...opts,
  fn: async () => {
    const [db] = await setup();
    try {
      const local = new TrustService();
      const changed: [number, number][] = [];
      const a = new FleetTrust({
        db,
        hostId: "A",
        trust: local,
        changed: (_did, before, after) => changed.push([before, after]),
      });
      await a.start();
      const now = Date.now();
      // Three penalties at once: the database applies them one by one, and after the first
      // its row (400) is above the cache (−100 → 0): adopting the bare row would lift the
      // agent back up between applies.
      for (let i = 0; i < 3; i++) {
        local.record(DID, { type: "violation", severity: "critical", at: now + i });
      }
      const low = local.score(DID, now + 3);
      await a.flushed();
      assertEquals(a.backlog, 0);
      assert(changed.every(([b, c]) => c <= b + 1e-6), JSON.stringify(changed));
      assertEquals(Math.round(local.score(DID, now + 3)), Math.round(low));
      const r = await row(db, DID);
      assertEquals([Math.round(r.score), r.version], [Math.round(low), 3]);
      await a.close();
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "fleet trust: a poll during an event's apply does not count the event twice",
  ...opts,
  fn: async () => {
    const [db] = await setup();
    try {
      // The apply transaction commits, then waits at a gate before it returns: a poll in
      // between reads a row that already holds the event still in the outbox.
      let gate: Promise<void> | null = null;
      let committed = () => {};
      const slow: FleetDb = {
        ...db,
        q: db.q,
        async tx(what, fn, ms) {
          const r = await db.tx(what, fn, ms);
          if (gate) {
            committed();
            await gate;
          }
          return r;
        },
      };
      const local = new TrustService();
      const changed: [number, number][] = [];
      const a = new FleetTrust({
        db: slow,
        hostId: "A",
        trust: local,
        changed: (_did, before, after) => changed.push([before, after]),
      });
      await a.start();
      await a.poll();
      let release = () => {};
      gate = new Promise<void>((r) => (release = r));
      const inTx = new Promise<void>((r) => (committed = r));
      local.record(DID, { type: "violation", severity: "critical", at: Date.now() });
      await inTx;
      await a.poll(); // the row says 400, and the event is still in the outbox
      assertEquals(Math.round(local.score(DID)), 400);
      release();
      await a.flushed();
      assertEquals(a.backlog, 0);
      assertEquals(Math.round(local.score(DID)), 400);
      assert(changed.every(([, after]) => Math.round(after) === 400), JSON.stringify(changed));
      await a.close();
    } finally {
      await db.close();
    }
  },
});
