/**
 * Agent memory in the fleet database (`runtime/fleet/memory_store.ts`), driven through the
 * memory service and the SDK op table as the gateway does, with two "hosts" (two services, two
 * connections) on one database: namespaces, quarantine, retroactive quarantine, TTL, tags,
 * prefix and text search; the quota held when both hosts write at once; a row UPDATEd behind
 * Warden's back withheld and audited; the database down refused (audited) within the deadline.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { connectFleetDb, type FleetDb, grantHostRole, migrate } from "../../runtime/fleet/mod.ts";
import { PgMemoryStore } from "../../runtime/fleet/memory_store.ts";
import { agent, type MemCtx, memCtx } from "../memory/helpers.ts";
import type { MemoryOptions } from "../../runtime/memory/service.ts";
import { freshDatabase, startCluster } from "./pg.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

interface Host {
  m: MemCtx;
  db: FleetDb;
  store: PgMemoryStore;
}

async function host(url: string, id: string, o: MemoryOptions = {}, deadlineMs = 5_000) {
  const db = connectFleetDb(url, { deadlineMs });
  await migrate(db);
  const m = await memCtx(o);
  const store = new PgMemoryStore(db, id, deadlineMs);
  m.memory.use(store);
  return { m, db, store } as Host;
}

async function close(...hs: Host[]) {
  for (const h of hs) {
    await h.m.close();
    await h.db.close();
  }
}

type Wire = { key: string; value: unknown; provenance: { writer: string; trust: number } };

Deno.test({
  name: "fleet memory: shared namespace across hosts, quarantine never reaches B, release",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const [a, b] = [await host(url, "host-a"), await host(url, "host-b")];
    try {
      const w = agent("writer", 800), low = agent("low", 600), reader = agent("reader", 900);
      await a.m.op(w, { op: "memory.put", namespace: "team-a", key: "notes/1", value: { x: 1 } });
      await a.m.op(w, {
        op: "memory.put",
        namespace: "team-a",
        key: "notes/2",
        value: "needle in here",
        tags: ["t1", "t2"],
      });
      await a.m.op(w, { op: "memory.put", key: "private", value: "mine" });
      const q = await a.m.op(low, {
        op: "memory.put",
        namespace: "team-a",
        key: "notes/3",
        value: "poison",
      }) as { quarantined: boolean };
      assertEquals(q.quarantined, true);
      // B's reader sees A's visible entries with their provenance, never the quarantined one.
      const got = await b.m.op(reader, { op: "memory.get", namespace: "team-a", key: "notes/1" });
      assertEquals((got as Wire).value, { x: 1 });
      assertEquals((got as Wire).provenance.writer, w.id);
      assertEquals(
        await b.m.op(reader, { op: "memory.get", namespace: "team-a", key: "notes/3" }),
        null,
      );
      const list = await b.m.op(reader, {
        op: "memory.list",
        namespace: "team-a",
        prefix: "notes/",
      }) as Wire[];
      assertEquals(list.map((e) => e.key), ["notes/1", "notes/2"]);
      const tagged = await b.m.op(reader, {
        op: "memory.list",
        namespace: "team-a",
        tags: ["t2"],
      }) as Wire[];
      assertEquals(tagged.map((e) => e.key), ["notes/2"]);
      const found = await b.m.op(reader, {
        op: "memory.search",
        namespace: "team-a",
        text: "needle",
      }) as Wire[];
      assertEquals(found.map((e) => e.key), ["notes/2"]);
      // Another agent's private namespace: refused on any host.
      assertEquals(
        await b.m.refusal(reader, { op: "memory.get", namespace: w.id, key: "private" }),
        "denied",
      );
      // The operator releases on B: A's readers see it.
      const held = await b.store.all({ status: "quarantined", limit: 10 });
      assertEquals(held.map((e) => e.key), ["notes/3"]);
      await b.store.release(held[0].id, "released by test");
      const now = await a.m.op(reader, { op: "memory.get", namespace: "team-a", key: "notes/3" });
      assertEquals((now as Wire).value, "poison");
      // Reject needs a quarantined entry.
      let why = "";
      await b.store.reject(held[0].id).catch((e) => why = e.message);
      assertEquals(why, `entry ${held[0].id} is not quarantined`);
      await b.store.reject(999_999).catch((e) => why = e.message);
      assertEquals(why, "no memory entry 999999");
    } finally {
      await close(a, b);
    }
  },
});

Deno.test({
  name: "fleet memory: retroactive quarantine by writer and time; TTL; delete",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    let t = 1_000_000;
    const [a, b] = [await host(url, "a", { now: () => t }), await host(url, "b", { now: () => t })];
    try {
      const w = agent("w", 800), reader = agent("r", 900);
      await a.m.op(w, { op: "memory.put", namespace: "team-a", key: "early", value: 1 });
      t += 10_000;
      await a.m.op(w, { op: "memory.put", namespace: "team-a", key: "late", value: 2 });
      await a.m.op(w, { op: "memory.put", key: "own-late", value: 3 });
      await a.m.op(w, { op: "memory.put", namespace: "team-a", key: "brief", value: 4, ttlMs: 50 });
      const hit = await b.store.quarantineBy(w.id, t, "trust fell");
      assertEquals(hit.map((e) => e.key).sort(), ["brief", "late", "own-late"]);
      const keys = async () =>
        (await b.m.op(reader, { op: "memory.list", namespace: "team-a" }) as Wire[]).map((e) =>
          e.key
        );
      assertEquals(await keys(), ["early"]);
      // TTL: an expired entry is never returned, and a sweep removes it (usage follows).
      await a.m.op(w, { op: "memory.put", namespace: "team-a", key: "ttl", value: 5, ttlMs: 50 });
      assertEquals(await keys(), ["early", "ttl"]);
      t += 100;
      assertEquals(await keys(), ["early"]);
      assertEquals(await a.store.sweep(t), 2);
      assertEquals((await a.store.usage("team-a")).entries, 1);
      assertEquals((await a.store.usage("team-a", "quarantined")).entries, 1);
      // Delete of an own entry.
      assertEquals(await b.m.op(w, { op: "memory.delete", key: "none" }), false);
    } finally {
      await close(a, b);
    }
  },
});

Deno.test({
  name: "fleet memory: two hosts writing at once never pass the namespace quota",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const quota = { quota: { entries: 20, bytes: 1 << 20 } };
    const [a, b] = [await host(url, "a", quota), await host(url, "b", quota)];
    try {
      const w1 = agent("w1", 800), w2 = agent("w2", 800);
      const write = (h: Host, who: typeof w1, i: number) =>
        h.m.refusal(who, { op: "memory.put", namespace: "team-a", key: `k${i}`, value: i });
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => write(i % 2 ? a : b, i % 2 ? w1 : w2, i)),
      );
      const ok = results.filter((r) => r === null).length;
      assertEquals(ok, 20, JSON.stringify(results));
      assert(results.every((r) => r === null || r === "busy"), JSON.stringify(results));
      const [{ n }] = await a.db.sql`SELECT count(*)::int AS n FROM memory_entries
        WHERE namespace = 'team-a' AND status = 'visible'`;
      assertEquals(n, 20);
      assertEquals(await a.store.usage("team-a"), { entries: 20, bytes: await bytes(a) });
      // Overwrites of existing keys still fit.
      assertEquals(await write(a, w1, 1), null);
    } finally {
      await close(a, b);
    }
  },
});

async function bytes(h: Host): Promise<number> {
  const [{ b }] = await h.db.sql`SELECT sum(bytes)::int AS b FROM memory_entries
    WHERE namespace = 'team-a' AND status = 'visible'`;
  return b;
}

Deno.test({
  name: "fleet memory: a row UPDATEd behind Warden's back is withheld and audited",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const [a, b] = [await host(url, "a"), await host(url, "b")];
    try {
      const w = agent("w", 800), reader = agent("r", 900);
      await a.m.op(w, { op: "memory.put", namespace: "team-a", key: "pay", value: "to alice" });
      await a.m.op(w, { op: "memory.put", namespace: "team-a", key: "tip", value: "ok" });
      await a.m.op(w, { op: "memory.put", namespace: "team-a", key: "trust", value: "ok" });
      // Value with its hash recomputed (no seal key): the seal no longer matches.
      await a.db.sql`UPDATE memory_entries SET value = '"to mallory"',
        sha256 = encode(sha256('"to mallory"'::bytea), 'hex') WHERE key = 'pay'`;
      // Provenance raised: the seal covers it.
      await a.db.sql`UPDATE memory_entries SET trust = 1000 WHERE key = 'trust'`;
      // A quarantined row flipped to visible.
      await a.m.op(agent("low", 600), {
        op: "memory.put",
        namespace: "team-a",
        key: "held",
        value: "x",
      });
      await a.db.sql`UPDATE memory_entries SET status = 'visible' WHERE key = 'held'`;
      for (const key of ["pay", "trust", "held"]) {
        assertEquals(
          await b.m.op(reader, { op: "memory.get", namespace: "team-a", key }),
          null,
          key,
        );
      }
      const list = await b.m.op(reader, { op: "memory.list", namespace: "team-a" }) as Wire[];
      assertEquals(list.map((e) => e.key), ["tip"]);
      const withheld = b.m.audit.filter((e) => e.action === "memory.integrity");
      assert(withheld.length >= 3, JSON.stringify(withheld));
      assert(withheld.every((e) => e.effect === "deny" && /modified outside/.test(e.reason)));
      // Never released or re-sealed.
      const [row] = await a.db.sql`SELECT id::int AS id FROM memory_entries WHERE key = 'pay'`;
      let why = "";
      await b.store.quarantine(row.id, "x").catch((e) => why = e.message);
      assert(/modified outside Warden/.test(why), why);
    } finally {
      await close(a, b);
    }
  },
});

Deno.test({
  name: "fleet memory: database down → every op refused and audited within the deadline",
  ...opts,
  fn: async () => {
    const cluster = startCluster();
    const url = await cluster.createDatabase();
    const a = await host(url, "a", {}, 1_500);
    try {
      const w = agent("w", 800);
      await a.m.op(w, { op: "memory.put", namespace: "team-a", key: "k", value: 1 });
      cluster.stop("immediate");
      for (
        const req of [
          { op: "memory.put", namespace: "team-a", key: "k2", value: 2 },
          { op: "memory.get", namespace: "team-a", key: "k" },
          { op: "memory.list", namespace: "team-a" },
          { op: "memory.delete", key: "k" },
        ]
      ) {
        const t0 = performance.now();
        assertEquals(await a.m.refusal(w, req), "failed", req.op);
        assert(performance.now() - t0 < 30_000, "refused within a generous deadline");
      }
      const refused = a.m.audit.filter((e) =>
        e.effect === "deny" && /^memory store unavailable: fleet database/.test(e.reason)
      );
      assertEquals(refused.length, 4, JSON.stringify(a.m.audit.map((e) => e.reason)));
      cluster.start();
      await a.m.op(w, { op: "memory.put", namespace: "team-a", key: "k3", value: 3 });
    } finally {
      await close(a);
      cluster.destroy();
    }
  },
});

Deno.test({
  name: "fleet memory: a bulk load replaces visible keys, holds the quota, all or none",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const a = await host(url, "a");
    try {
      const provenance = {
        writer: "did:key:z6MkLoader",
        writerName: "loader",
        ring: 2,
        trust: 900,
        source: { kind: "agent" as const, ref: null },
        at: 1,
      };
      const entry = (key: string, value: string) => ({
        namespace: "team-a",
        key,
        value: JSON.stringify(value),
        tags: [],
        provenance,
        expiresAt: null,
        status: "visible" as const,
        note: null,
      });
      const quota = { entries: 3, bytes: 1 << 20 };
      await a.store.putMany([entry("a", "1"), entry("b", "2"), entry("a", "3")], quota, 1);
      await a.store.putMany([entry("b", "4")], quota, 1);
      const got = await a.store.find("team-a", { limit: 10, maxBytes: 1 << 20 }, 1);
      assertEquals(got.map((e) => [e.key, e.value, e.intact]), [
        ["a", '"3"', true],
        ["b", '"4"', true],
      ]);
      let why = "";
      await a.store.putMany([entry("c", "5"), entry("d", "6")], quota, 1).catch((e) =>
        why = e.message
      );
      assert(/is full/.test(why), why);
      assertEquals((await a.store.usage("team-a")).entries, 2, "all or none");
    } finally {
      await close(a);
    }
  },
});

Deno.test({
  name: "fleet memory: a write stuck past its deadline is refused and never lands later",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const a = await host(url, "a", {}, 1_500);
    const other = connectFleetDb(url, { deadlineMs: 60_000 });
    try {
      const w = agent("w", 800), reader = agent("r", 900);
      await a.m.op(w, { op: "memory.put", namespace: "team-a", key: "k", value: 1 });
      // Another session holds the namespace's usage row: the write waits on it.
      const { promise: hold, resolve: release } = Promise.withResolvers<void>();
      const { promise: locked, resolve: gotLock } = Promise.withResolvers<void>();
      const holder = other.sql.begin(async (tx) => {
        await tx`SELECT 1 FROM memory_usage WHERE namespace = 'team-a' FOR UPDATE`;
        gotLock();
        await hold;
      });
      await locked;
      const t0 = performance.now();
      const code = await a.m.refusal(w, {
        op: "memory.put",
        namespace: "team-a",
        key: "late",
        value: 2,
      });
      assertEquals(code, "failed");
      assert(performance.now() - t0 < 30_000, "refused within a generous deadline");
      const why = a.m.audit.findLast((e) => e.effect === "deny")!.reason;
      assert(/^memory store unavailable: fleet database.*timed out/.test(why), why);
      release();
      await holder;
      await new Promise((r) => setTimeout(r, 500));
      assertEquals(
        await a.m.op(reader, { op: "memory.get", namespace: "team-a", key: "late" }),
        null,
        "the refused write was rolled back",
      );
      const [{ n }] = await a.db.sql`SELECT count(*)::int AS n FROM memory_entries`;
      assertEquals(n, 1);
    } finally {
      await other.close();
      await close(a);
    }
  },
});

Deno.test({
  name: "fleet memory: a least-privilege host role keeps memory; it never rewrites the seal key",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const admin = connectFleetDb(url);
    await migrate(admin);
    await grantHostRole(admin, "host_m");
    const u = new URL(url);
    u.username = "host_m";
    const a = await host(u.toString(), "m");
    try {
      const w = agent("w", 800), low = agent("low", 600);
      await a.m.op(w, { op: "memory.put", namespace: "team-a", key: "k", value: 1 });
      await a.m.op(low, { op: "memory.put", namespace: "team-a", key: "q", value: 2 });
      const held = await a.store.all({ status: "quarantined", limit: 5 });
      await a.store.release(held[0].id, "ok");
      assertEquals(await a.store.sweep(Date.now()), 0);
      for (
        const stmt of [
          "UPDATE memory_seal_key SET key = repeat('0', 64)",
          "DELETE FROM memory_seal_key",
          "DROP TABLE memory_entries",
        ]
      ) {
        let err = "";
        await a.db.q("rewrite", (s) => s.unsafe(stmt)).catch((e) => (err = e.message));
        assert(/permission denied|must be owner/.test(err), `${stmt}: ${err}`);
      }
    } finally {
      await close(a);
      await admin.close();
    }
  },
});
