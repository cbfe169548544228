/**
 * The memory store: one SQLite database (`node:sqlite`) in the host's home. Each entry keeps its
 * value (JSON text), the SHA-256 of those bytes, its provenance (writer did and name, ring and
 * trust at write time, declared source, time), tags, expiry and status (`visible` or
 * `quarantined`), and a seal: an HMAC under the store's own key (`<db>.key`, 0600) over all of
 * that but the value, whose hash it covers. A row changed outside Warden (value, hash, status,
 * provenance or namespace) no longer matches and is reported not intact. Per-namespace usage
 * (entries, bytes) is kept by triggers, apart for visible and quarantined entries: each write
 * is held to the quota of its status, so a flood of quarantined writes never fills the space
 * readers' entries need.
 */
import { randomBytes } from "node:crypto";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { FindOptions, MemoryBackend } from "./backend.ts";
import type { EntryStatus, NewEntry, Quota, StoredEntry } from "./entry.ts";
import { QuotaError } from "./entry.ts";
import { type Row, SCHEMA } from "./schema.ts";
import { contentHash, entryOfRow, type SealedRow, sealedRowOf, sealRow, storeKey } from "./seal.ts";

export { contentHash };
export type { Awaitable, FindOptions, MemoryBackend } from "./backend.ts";
export {
  type EntryStatus,
  MEMORY_SOURCES,
  type NewEntry,
  type Provenance,
  type Quota,
  QuotaError,
  type SourceKind,
  type StoredEntry,
} from "./entry.ts";

const LIVE = "(expires_at IS NULL OR expires_at > ?)";

export class MemoryStore implements MemoryBackend {
  readonly path: string;
  readonly where: string;
  readonly #db: DatabaseSync;
  readonly #key: Uint8Array;
  readonly #q: Record<string, StatementSync>;

  /**
   * Open the database at `path` (with `create: false` its key must exist already: operators'
   * tools never mint a new key, which would make every entry look tampered). `:memory:` keeps
   * it in memory with a fresh key.
   */
  constructor(path: string, o: { create?: boolean } = {}) {
    this.path = path;
    this.where = path;
    this.#key = path === ":memory:" ? randomBytes(32) : storeKey(path, o.create ?? true);
    this.#db = new DatabaseSync(path);
    this.#db.exec(SCHEMA);
    const p = (sql: string) => this.#db.prepare(sql);
    this.#q = {
      insert: p(`INSERT INTO entries (namespace, key, value, sha256, bytes, tags, writer,
        writer_name, ring, trust, source_kind, source_ref, created_at, expires_at, status, note,
        seal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      visible: p(`SELECT * FROM entries WHERE namespace = ? AND key = ? AND status = 'visible'`),
      byId: p(`SELECT * FROM entries WHERE id = ?`),
      usage: p(`SELECT entries, bytes FROM usage WHERE namespace = ? AND status = ?`),
      deleteId: p(`DELETE FROM entries WHERE id = ?`),
      sweepNs: p(`DELETE FROM entries WHERE namespace = ? AND expires_at <= ?`),
      sweep: p(`DELETE FROM entries WHERE expires_at <= ?`),
      setStatus: p(`UPDATE entries SET status = ?, note = ?, seal = ? WHERE id = ?`),
      byWriter: p(`SELECT * FROM entries WHERE writer = ? AND created_at >= ?
        AND status = 'visible'`),
    };
  }

  #seal(r: SealedRow): string {
    return sealRow(this.#key, r);
  }

  #entry(r: Row): StoredEntry {
    return entryOfRow(this.#key, r);
  }

  /** Entries and bytes a namespace holds with `status` (expired, not yet swept ones included). */
  usage(namespace: string, status: EntryStatus = "visible"): Quota {
    const u = this.#q.usage.get(namespace, status) as Quota | undefined;
    return u ? { entries: u.entries, bytes: u.bytes } : { entries: 0, bytes: 0 };
  }

  /**
   * Write an entry. A visible entry replaces the visible one of its key; a quarantined one is
   * kept beside it (a poisoned write never erases what readers see). Throws QuotaError when
   * the namespace would hold more than `quota` entries of that status (expired entries are swept
   * first).
   */
  put(e: NewEntry, quota: Quota, now: number): StoredEntry {
    return this.byId(this.#transaction(() => this.#insert(e, quota, now)))!;
  }

  /** Write many entries in one transaction (bulk loads: imports, benchmarks); all or none. */
  putMany(entries: NewEntry[], quota: Quota, now: number): void {
    this.#transaction(() => {
      for (const e of entries) this.#insert(e, quota, now);
    });
  }

  #transaction<T>(f: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const out = f();
      this.#db.exec("COMMIT");
      return out;
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  #insert(e: NewEntry, quota: Quota, now: number): number {
    const row = sealedRowOf(e);
    const { sha256, bytes } = row;
    const old = e.status === "visible"
      ? this.#q.visible.get(e.namespace, e.key) as Row | undefined
      : undefined;
    const fits = () => {
      const u = this.usage(e.namespace, e.status);
      return u.entries + 1 - (old ? 1 : 0) <= quota.entries &&
        u.bytes + bytes - (old?.bytes ?? 0) <= quota.bytes;
    };
    if (!fits()) {
      this.#q.sweepNs.run(e.namespace, now);
      if (!fits()) {
        throw new QuotaError(
          `${
            e.status === "visible" ? "namespace" : "the quarantine of namespace"
          } ${e.namespace} ` +
            `is full (quota ${quota.entries} entries, ${quota.bytes} bytes)`,
        );
      }
    }
    if (old) this.#q.deleteId.run(old.id);
    const r = this.#q.insert.run(
      row.namespace,
      row.key,
      e.value,
      sha256,
      bytes,
      row.tags,
      row.writer,
      row.writer_name,
      row.ring,
      row.trust,
      row.source_kind,
      row.source_ref,
      row.created_at,
      row.expires_at,
      row.status,
      row.note,
      this.#seal(row),
    );
    return Number(r.lastInsertRowid);
  }

  /** The visible, unexpired entry of a key (intact or not: callers withhold what is not). */
  visible(namespace: string, key: string, now: number): StoredEntry | null {
    const r = this.#q.visible.get(namespace, key) as Row | undefined;
    if (!r || (r.expires_at !== null && r.expires_at <= now)) return null;
    return this.#entry(r);
  }

  /** One entry by id, whatever its status. */
  byId(id: number): StoredEntry | null {
    const r = this.#q.byId.get(id) as Row | undefined;
    return r ? this.#entry(r) : null;
  }

  /**
   * Visible, unexpired entries of a namespace in key order: keys starting with `prefix`,
   * carrying every one of `tags`, and (`text`) whose key or value text contains it. At most
   * `limit` entries and, past the first, `maxBytes` of values: rows are read one at a time and
   * reading stops there (a list never holds more than that in memory).
   */
  find(
    namespace: string,
    o: FindOptions,
    now: number,
  ): StoredEntry[] {
    const where = ["namespace = ?", "status = 'visible'", LIVE];
    const params: (string | number)[] = [namespace, now];
    if (o.prefix) {
      // Keys are ASCII below DEL: the prefix's range ends at prefix + DEL.
      where.push("key >= ?", "key < ?");
      params.push(o.prefix, o.prefix + "\x7f");
    }
    for (const t of o.tags ?? []) {
      where.push("EXISTS (SELECT 1 FROM json_each(entries.tags) WHERE json_each.value = ?)");
      params.push(t);
    }
    if (o.text) {
      where.push("(instr(key, ?) > 0 OR instr(value, ?) > 0)");
      params.push(o.text, o.text);
    }
    params.push(o.limit);
    const sql = `SELECT * FROM entries WHERE ${where.join(" AND ")} ORDER BY key LIMIT ?`;
    const out: StoredEntry[] = [];
    let bytes = 0;
    for (const r of this.#prepared(sql).iterate(...params) as Iterable<Row>) {
      bytes += r.bytes;
      if (out.length > 0 && bytes > o.maxBytes) break;
      out.push(this.#entry(r));
    }
    return out;
  }

  /** Entries for operators, newest first: by status and namespace. */
  all(o: { status?: EntryStatus; namespace?: string; limit: number }): StoredEntry[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (o.status) where.push("status = ?"), params.push(o.status);
    if (o.namespace) where.push("namespace = ?"), params.push(o.namespace);
    params.push(o.limit);
    const sql = `SELECT * FROM entries ${
      where.length ? `WHERE ${where.join(" AND ")}` : ""
    } ORDER BY id DESC LIMIT ?`;
    return (this.#db.prepare(sql).all(...params) as Row[]).map((r) => this.#entry(r));
  }

  /** Delete the visible entry of a key; quarantined ones stay for the operator. */
  deleteVisible(namespace: string, key: string): boolean {
    const r = this.#q.visible.get(namespace, key) as Row | undefined;
    if (!r) return false;
    this.#q.deleteId.run(r.id);
    return true;
  }

  readonly #statements = new Map<string, StatementSync>();
  /** A statement for a query built from options (few shapes: cached). */
  #prepared(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (!st) this.#statements.set(sql, st = this.#db.prepare(sql));
    return st;
  }

  #setStatus(r: Row, status: EntryStatus, note: string | null): void {
    this.#q.setStatus.run(status, note, this.#seal({ ...r, status, note }), r.id);
  }

  /**
   * Quarantine an entry (re-sealed). Refuses an entry that is not intact: a tampered row is
   * never re-sealed into looking genuine.
   */
  quarantine(id: number, note: string): StoredEntry {
    const e = this.#intact(id);
    this.#setStatus(this.#q.byId.get(id) as Row, "quarantined", note);
    return { ...e, status: "quarantined", note };
  }

  /**
   * Release a quarantined entry: it becomes the visible entry of its key (replacing the one
   * there). Refuses entries that are not intact or not quarantined.
   */
  release(id: number, note: string): StoredEntry {
    const e = this.#intact(id);
    if (e.status !== "quarantined") throw new Error(`entry ${id} is not quarantined`);
    this.#transaction(() => {
      const old = this.#q.visible.get(e.namespace, e.key) as Row | undefined;
      if (old) this.#q.deleteId.run(old.id);
      this.#setStatus(this.#q.byId.get(id) as Row, "visible", note);
    });
    return { ...e, status: "visible", note };
  }

  /** Reject a quarantined entry: deleted, never shown to a reader; returns what it was. */
  reject(id: number): StoredEntry {
    const e = this.byId(id);
    if (!e) throw new Error(`no memory entry ${id}`);
    if (e.status !== "quarantined") throw new Error(`entry ${id} is not quarantined`);
    this.#q.deleteId.run(id);
    return e;
  }

  /** Quarantine every visible entry `writer` wrote at or after `since`; returns them. */
  quarantineBy(writer: string, since: number, note: string): StoredEntry[] {
    const rows = this.#q.byWriter.all(writer, since) as Row[];
    const out: StoredEntry[] = [];
    this.#transaction(() => {
      for (const r of rows) {
        // Tampered rows are left as they are: already withheld, and never re-sealed.
        if (!this.#entry(r).intact) continue;
        this.#setStatus(r, "quarantined", note);
        out.push({ ...this.#entry(r), status: "quarantined", note });
      }
    });
    return out;
  }

  #intact(id: number): StoredEntry {
    const e = this.byId(id);
    if (!e) throw new Error(`no memory entry ${id}`);
    if (!e.intact) {
      throw new Error(`entry ${id} does not match its hash or seal (modified outside Warden)`);
    }
    return e;
  }

  /** Delete every expired entry; returns how many. */
  sweep(now: number): number {
    return Number(this.#q.sweep.run(now).changes);
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
