/**
 * Agent memory in the fleet database: the {@link MemoryBackend} of fleet mode, with the SQLite
 * store's semantics (`../memory/store.ts`) over `memory_entries` (migration 4).
 *
 * - Quotas hold across hosts: every write locks its namespace's usage row for its status
 *   (`SELECT … FOR UPDATE`) inside the write's transaction, checks, writes and updates the row
 *   there; two hosts writing at once are serialized by that row, so neither can pass the quota.
 *   Operations touching both statuses lock the rows in one order (quarantined, then visible).
 * - Integrity: each row is sealed (the same fields, the same HMAC-style seal) under the fleet's
 *   memory key, minted once into `memory_seal_key` by the first host and read by the others: a
 *   row changed in the database by anything that does not hold that key — an UPDATE behind
 *   Warden's back, a restore mixing rows — reads as not intact and is withheld. (The key is in
 *   the same database: whoever can read it can re-seal; see README "Agent memory".)
 * - Every call is one query or transaction with the connection's deadline; a database that is
 *   down or slow is a one-line {@link FleetDbError} (the memory service refuses, audited).
 */
import { randomBytes } from "node:crypto";
import type { FindOptions, MemoryBackend } from "../memory/backend.ts";
import {
  type EntryStatus,
  type NewEntry,
  type Quota,
  QuotaError,
  type StoredEntry,
} from "../memory/entry.ts";
import { entryOfRow, sealedRowOf, sealRow } from "../memory/seal.ts";
import type { Row } from "../memory/schema.ts";
import { type FleetDb, FleetDbError, QUERY_DEADLINE_MS, type Sql, type Tx } from "./db.ts";

/** The columns of an entry, bigints as float8 (ms times and sizes are below 2^53). */
const COLUMNS = `id::float8 AS id, namespace, key, value, sha256, bytes::float8 AS bytes, tags,
  writer, writer_name, ring, trust, source_kind, source_ref, created_at::float8 AS created_at,
  expires_at::float8 AS expires_at, status, note, seal`;

/** A namespace's usage row of one status. */
type Slot = { namespace: string; status: EntryStatus };

function slotOrder(a: Slot, b: Slot): number {
  return a.namespace < b.namespace
    ? -1
    : a.namespace > b.namespace
    ? 1
    : a.status < b.status
    ? -1
    : a.status > b.status
    ? 1
    : 0;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Memory entries in the fleet database. */
export class PgMemoryStore implements MemoryBackend {
  readonly where: string;
  #key: Promise<Uint8Array> | null = null;

  /**
   * `deadlineMs`: of each call (default the connection's usual 5 s). A transaction past it is
   * refused to the caller and rolled back in the database (`statement_timeout`, and a check
   * before its commit): a write reported as refused never lands later.
   */
  constructor(
    readonly db: FleetDb,
    readonly hostId: string,
    readonly deadlineMs = QUERY_DEADLINE_MS,
  ) {
    this.where = `fleet database ${db.where}`;
  }

  /** {@link FleetDb.q} with this store's deadline. */
  #q<T>(what: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
    return this.db.q(what, fn, this.deadlineMs);
  }

  /** {@link FleetDb.tx} that rolls back, rather than commits, once its deadline has passed. */
  #tx<T>(what: string, fn: (tx: Tx) => Promise<T>, ms = this.deadlineMs): Promise<T> {
    const end = performance.now() + ms;
    return this.db.tx(what, async (tx) => {
      await tx.unsafe(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(ms))}`);
      const out = await fn(tx);
      if (performance.now() >= end) {
        throw new FleetDbError(`fleet database: ${what} timed out after ${ms} ms`, "TIMEOUT");
      }
      return out;
    }, ms);
  }

  /** The fleet's memory sealing key: read, or minted once (by whichever host comes first). */
  #sealKey(): Promise<Uint8Array> {
    this.#key ??= this.#q("memory seal key", async (sql) => {
      const mint = hex(randomBytes(32));
      await sql`INSERT INTO memory_seal_key (id, key, created_by)
        VALUES (1, ${mint}, ${this.hostId}) ON CONFLICT (id) DO NOTHING`;
      const [r] = await sql`SELECT key FROM memory_seal_key WHERE id = 1`;
      const text = String(r?.key ?? "");
      if (!/^[0-9a-f]{64}$/.test(text)) {
        throw new Error("memory_seal_key holds no valid key (64 hex digits)");
      }
      return Uint8Array.from(text.match(/../g)!.map((h) => parseInt(h, 16)));
    }).catch((e) => {
      this.#key = null; // retried on the next call
      throw e;
    });
    return this.#key;
  }

  async #entries(rows: Row[]): Promise<StoredEntry[]> {
    const key = await this.#sealKey();
    return rows.map((r) => entryOfRow(key, r));
  }

  async #one(rows: Row[]): Promise<StoredEntry | null> {
    return (await this.#entries(rows))[0] ?? null;
  }

  /** Lock the usage rows of `slots` (created at zero when absent), in one global order. */
  async #lock(tx: Tx, slots: Slot[]): Promise<Map<string, Quota>> {
    const out = new Map<string, Quota>();
    const sorted = [...slots].sort(slotOrder).filter((s, i, a) =>
      i === 0 || slotOrder(a[i - 1], s) !== 0
    );
    for (const s of sorted) {
      // One round trip: created at zero, or locked by the no-op update (as FOR UPDATE would).
      const [u] = await tx`INSERT INTO memory_usage AS m (namespace, status, entries, bytes)
        VALUES (${s.namespace}, ${s.status}, 0, 0)
        ON CONFLICT (namespace, status) DO UPDATE SET entries = m.entries
        RETURNING entries::float8 AS entries, bytes::float8 AS bytes`;
      out.set(`${s.status}:${s.namespace}`, { entries: u.entries, bytes: u.bytes });
    }
    return out;
  }

  async #add(tx: Tx, s: Slot, entries: number, bytes: number): Promise<void> {
    await tx`UPDATE memory_usage SET entries = entries + ${entries}, bytes = bytes + ${bytes}
      WHERE namespace = ${s.namespace} AND status = ${s.status}`;
  }

  async usage(namespace: string, status: EntryStatus = "visible"): Promise<Quota> {
    const [u] = await this.#q(
      "memory usage",
      (sql) =>
        sql`SELECT entries::float8 AS entries, bytes::float8 AS bytes FROM memory_usage
        WHERE namespace = ${namespace} AND status = ${status}`,
    );
    return u ? { entries: u.entries, bytes: u.bytes } : { entries: 0, bytes: 0 };
  }

  async put(e: NewEntry, quota: Quota, now: number): Promise<StoredEntry> {
    const key = await this.#sealKey();
    const r = await this.#tx("memory put", (tx) => this.#insert(tx, key, e, quota, now));
    return entryOfRow(key, r);
  }

  /**
   * Bulk load (imports, benchmarks): in one transaction, the usage rows of every namespace and
   * status locked, replaced visible entries deleted, the rows inserted 500 at a time, each quota
   * checked on the totals (no sweep); all or none. Of two visible entries of one key in the
   * batch the last one is kept, as one put after another would.
   */
  async putMany(entries: NewEntry[], quota: Quota, _now: number): Promise<void> {
    const key = await this.#sealKey();
    const last = new Map<string, NewEntry>();
    const held: NewEntry[] = [];
    for (const e of entries) {
      if (e.status === "visible") last.set(`${e.namespace}\n${e.key}`, e);
      else held.push(e);
    }
    const batch = [...last.values(), ...held];
    await this.#tx("memory bulk put", async (tx) => {
      const slots = new Map<string, Slot & { entries: number; bytes: number }>();
      const rows = batch.map((e) => {
        const r = this.#row(e, key);
        const id = `${e.status}:${e.namespace}`;
        const s = slots.get(id) ??
          { namespace: e.namespace, status: e.status, entries: 0, bytes: 0 };
        s.entries++;
        s.bytes += r.bytes;
        slots.set(id, s);
        return r;
      });
      const usage = await this.#lock(tx, [...slots.values()]);
      for (const s of slots.values()) {
        if (s.status === "visible") {
          const keys = batch.filter((e) => e.status === "visible" && e.namespace === s.namespace)
            .map((e) => e.key);
          const [gone] = await tx.unsafe(
            `WITH d AS (DELETE FROM memory_entries WHERE namespace = $1 AND status = 'visible'
                AND key IN (SELECT jsonb_array_elements_text($2::text::jsonb)) RETURNING bytes)
              SELECT count(*)::float8 AS n, coalesce(sum(bytes), 0)::float8 AS b FROM d`,
            [s.namespace, JSON.stringify(keys)],
          );
          s.entries -= gone.n;
          s.bytes -= gone.b;
        }
        const u = usage.get(`${s.status}:${s.namespace}`)!;
        if (u.entries + s.entries > quota.entries || u.bytes + s.bytes > quota.bytes) {
          throw new QuotaError(
            `namespace ${s.namespace} is full (quota ${quota.entries} entries, ` +
              `${quota.bytes} bytes)`,
          );
        }
      }
      for (let i = 0; i < rows.length; i += 500) {
        await tx`INSERT INTO memory_entries ${tx(rows.slice(i, i + 500))}`;
      }
      for (const s of slots.values()) await this.#add(tx, s, s.entries, s.bytes);
    }, 300_000);
  }

  /** The row of a new entry, sealed. */
  #row(e: NewEntry, key: Uint8Array) {
    const row = sealedRowOf(e);
    return { ...row, value: e.value, seal: sealRow(key, row), host_id: this.hostId };
  }

  async #insert(tx: Tx, key: Uint8Array, e: NewEntry, quota: Quota, now: number) {
    const slot = { namespace: e.namespace, status: e.status };
    let u = (await this.#lock(tx, [slot])).get(`${e.status}:${e.namespace}`)!;
    const row = this.#row(e, key);
    const bytes = row.bytes;
    // The replaced entry goes first (a refusal below rolls the deletion back).
    const [old] = e.status === "visible"
      ? await tx`DELETE FROM memory_entries
          WHERE namespace = ${e.namespace} AND key = ${e.key} AND status = 'visible'
          RETURNING bytes::float8 AS bytes`
      : [];
    const fits = () =>
      u.entries + 1 - (old ? 1 : 0) <= quota.entries &&
      u.bytes + bytes - (old?.bytes ?? 0) <= quota.bytes;
    let swept = { n: 0, b: 0 };
    if (!fits()) {
      // Sweep this namespace's expired entries of this status (its row is the one held).
      const [gone] = await tx`WITH d AS (DELETE FROM memory_entries
          WHERE namespace = ${e.namespace} AND status = ${e.status} AND expires_at <= ${now}
          RETURNING bytes)
        SELECT count(*)::float8 AS n, coalesce(sum(bytes), 0)::float8 AS b FROM d`;
      swept = { n: gone.n, b: gone.b };
      u = { entries: u.entries - gone.n, bytes: u.bytes - gone.b };
      if (!fits()) {
        throw new QuotaError(
          `${
            e.status === "visible" ? "namespace" : "the quarantine of namespace"
          } ${e.namespace} ` +
            `is full (quota ${quota.entries} entries, ${quota.bytes} bytes)`,
        );
      }
    }
    const [r] = await tx`INSERT INTO memory_entries ${tx(row)}
      RETURNING ${tx.unsafe(COLUMNS)}`;
    const gone = { n: swept.n + (old ? 1 : 0), b: swept.b + (old?.bytes ?? 0) };
    await this.#add(tx, slot, 1 - gone.n, bytes - gone.b);
    return r as unknown as Row;
  }

  async visible(namespace: string, key: string, now: number): Promise<StoredEntry | null> {
    const rows = await this.#q("memory get", (sql) =>
      sql.unsafe(
        `SELECT ${COLUMNS} FROM memory_entries WHERE namespace = $1 AND key = $2
          AND status = 'visible' AND (expires_at IS NULL OR expires_at > $3)`,
        [namespace, key, now],
      ) as unknown as Promise<Row[]>);
    return await this.#one(rows);
  }

  async byId(id: number): Promise<StoredEntry | null> {
    const rows = await this.#q("memory entry", (sql) => this.#byId(sql, id));
    return await this.#one(rows);
  }

  #byId(sql: Sql | Tx, id: number, lock = false): Promise<Row[]> {
    return sql.unsafe(
      `SELECT ${COLUMNS} FROM memory_entries WHERE id = $1${lock ? " FOR UPDATE" : ""}`,
      [id],
    ) as unknown as Promise<Row[]>;
  }

  async find(namespace: string, o: FindOptions, now: number): Promise<StoredEntry[]> {
    const key = await this.#sealKey();
    return await this.#q("memory search", async (sql) => {
      const where = [
        "namespace = $1",
        "status = 'visible'",
        "(expires_at IS NULL OR expires_at > $2)",
      ];
      const params: (string | number)[] = [namespace, now];
      const param = (v: string | number) => `$${params.push(v)}`;
      if (o.prefix) {
        // Keys are ASCII below DEL and collate "C": the prefix's range ends at prefix + DEL.
        where.push(`key >= ${param(o.prefix)}`, `key < ${param(o.prefix + "\x7f")}`);
      }
      for (const t of o.tags ?? []) {
        where.push(`tags::jsonb @> ${param(JSON.stringify([t]))}::text::jsonb`);
      }
      if (o.text) {
        const t = param(o.text);
        where.push(`(strpos(key, ${t}) > 0 OR strpos(value, ${t}) > 0)`);
      }
      const text = `SELECT ${COLUMNS} FROM memory_entries WHERE ${where.join(" AND ")}
        ORDER BY key LIMIT ${param(o.limit)}`;
      // Read in batches and stop at maxBytes: a list never holds more than that in memory.
      const out: StoredEntry[] = [];
      let bytes = 0;
      for await (const batch of sql.unsafe(text, params).cursor(32)) {
        for (const r of batch as unknown as Row[]) {
          bytes += r.bytes;
          if (out.length > 0 && bytes > o.maxBytes) return out;
          out.push(entryOfRow(key, r));
        }
      }
      return out;
    });
  }

  async all(o: { status?: EntryStatus; namespace?: string; limit: number }) {
    const rows = await this.#q("memory list", (sql) => {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (o.status) where.push(`status = $${params.push(o.status)}`);
      if (o.namespace) where.push(`namespace = $${params.push(o.namespace)}`);
      return sql.unsafe(
        `SELECT ${COLUMNS} FROM memory_entries ${
          where.length ? `WHERE ${where.join(" AND ")}` : ""
        } ORDER BY id DESC LIMIT $${params.push(o.limit)}`,
        params,
      ) as unknown as Promise<Row[]>;
    });
    return await this.#entries(rows);
  }

  async deleteVisible(namespace: string, key: string): Promise<boolean> {
    return await this.#tx("memory delete", async (tx) => {
      const slot: Slot = { namespace, status: "visible" };
      await this.#lock(tx, [slot]);
      const [r] = await tx`DELETE FROM memory_entries
        WHERE namespace = ${namespace} AND key = ${key} AND status = 'visible'
        RETURNING bytes::float8 AS bytes`;
      if (!r) return false;
      await this.#add(tx, slot, -1, -r.bytes);
      return true;
    });
  }

  /**
   * In one transaction: lock both usage rows of the entry's namespace, lock and re-read the
   * entry, check it (`check` throws), then let `f` change it.
   */
  async #change(
    what: string,
    id: number,
    check: (e: StoredEntry) => void,
    f: (tx: Tx, e: StoredEntry, key: Uint8Array) => Promise<void>,
  ): Promise<StoredEntry> {
    const key = await this.#sealKey();
    return await this.#tx(what, async (tx) => {
      const [peek] = await tx`SELECT namespace FROM memory_entries WHERE id = ${id}`;
      if (!peek) throw new Error(`no memory entry ${id}`);
      await this.#lock(tx, [
        { namespace: peek.namespace, status: "visible" },
        { namespace: peek.namespace, status: "quarantined" },
      ]);
      const [r] = await this.#byId(tx, id, true);
      if (!r) throw new Error(`no memory entry ${id}`);
      const e = entryOfRow(key, r);
      check(e);
      await f(tx, e, key);
      return e;
    });
  }

  async #setStatus(
    tx: Tx,
    key: Uint8Array,
    e: StoredEntry,
    status: EntryStatus,
    note: string | null,
  ): Promise<void> {
    const [r] = await this.#byId(tx, e.id);
    await tx`UPDATE memory_entries SET status = ${status}, note = ${note},
      seal = ${sealRow(key, { ...r, status, note })} WHERE id = ${e.id}`;
    if (e.status !== status) {
      await this.#add(tx, { namespace: e.namespace, status: e.status }, -1, -e.bytes);
      await this.#add(tx, { namespace: e.namespace, status }, 1, e.bytes);
    }
  }

  async quarantine(id: number, note: string): Promise<StoredEntry> {
    const e = await this.#change("memory quarantine", id, intactOr, async (tx, e, key) => {
      await this.#setStatus(tx, key, e, "quarantined", note);
    });
    return { ...e, status: "quarantined", note };
  }

  async release(id: number, note: string): Promise<StoredEntry> {
    const check = (e: StoredEntry) => {
      intactOr(e);
      if (e.status !== "quarantined") throw new Error(`entry ${id} is not quarantined`);
    };
    const e = await this.#change("memory release", id, check, async (tx, e, key) => {
      const [old] = await tx`DELETE FROM memory_entries WHERE namespace = ${e.namespace}
        AND key = ${e.key} AND status = 'visible' RETURNING bytes::float8 AS bytes`;
      if (old) await this.#add(tx, { namespace: e.namespace, status: "visible" }, -1, -old.bytes);
      await this.#setStatus(tx, key, e, "visible", note);
    });
    return { ...e, status: "visible", note };
  }

  async reject(id: number): Promise<StoredEntry> {
    const check = (e: StoredEntry) => {
      if (e.status !== "quarantined") throw new Error(`entry ${id} is not quarantined`);
    };
    return await this.#change("memory reject", id, check, async (tx, e) => {
      await tx`DELETE FROM memory_entries WHERE id = ${e.id}`;
      await this.#add(tx, { namespace: e.namespace, status: e.status }, -1, -e.bytes);
    });
  }

  async quarantineBy(writer: string, since: number, note: string): Promise<StoredEntry[]> {
    const key = await this.#sealKey();
    return await this.#tx("memory quarantine by writer", async (tx) => {
      const spaces = await tx`SELECT DISTINCT namespace FROM memory_entries
        WHERE writer = ${writer} AND created_at >= ${since} AND status = 'visible'`;
      const names = spaces.map((s) => s.namespace as string);
      await this.#lock(
        tx,
        names.flatMap((namespace) => [
          { namespace, status: "visible" as const },
          { namespace, status: "quarantined" as const },
        ]),
      );
      const rows = await tx.unsafe(
        `SELECT ${COLUMNS} FROM memory_entries WHERE writer = $1 AND created_at >= $2
          AND status = 'visible' AND namespace IN (SELECT jsonb_array_elements_text($3::text::jsonb))
          ORDER BY id FOR UPDATE`,
        [writer, since, JSON.stringify(names)],
      ) as unknown as Row[];
      const out: StoredEntry[] = [];
      for (const r of rows) {
        const e = entryOfRow(key, r);
        // Tampered rows are left as they are: already withheld, and never re-sealed.
        if (!e.intact) continue;
        await this.#setStatus(tx, key, e, "quarantined", note);
        out.push({ ...e, status: "quarantined", note });
      }
      return out;
    });
  }

  async sweep(now: number): Promise<number> {
    return await this.#tx("memory sweep", async (tx) => {
      const due = await tx`SELECT DISTINCT namespace, status FROM memory_entries
        WHERE expires_at <= ${now}`;
      await this.#lock(tx, due.map((d) => ({ namespace: d.namespace, status: d.status })));
      if (due.length === 0) return 0;
      // Only the slots locked above (an entry expiring meanwhile elsewhere waits for the next).
      const gone = await tx.unsafe(
        `WITH d AS (DELETE FROM memory_entries WHERE expires_at <= $1
            AND (namespace, status) IN
              (SELECT s->>0, s->>1 FROM jsonb_array_elements($2::text::jsonb) s)
            RETURNING namespace, status, bytes)
          SELECT namespace, status, count(*)::float8 AS n, sum(bytes)::float8 AS b
          FROM d GROUP BY namespace, status`,
        [now, JSON.stringify(due.map((d) => [d.namespace, d.status]))],
      );
      let n = 0;
      for (const g of gone) {
        await this.#add(tx, { namespace: g.namespace, status: g.status }, -g.n, -g.b);
        n += g.n;
      }
      return n;
    }, 120_000);
  }

  /** Nothing of its own to close: the connection is the fleet's. */
  close(): void {}
}

/** Throw for an entry that is not intact: a tampered row is never re-sealed into looking genuine. */
function intactOr(e: StoredEntry): void {
  if (!e.intact) {
    throw new Error(`entry ${e.id} does not match its hash or seal (modified outside Warden)`);
  }
}
