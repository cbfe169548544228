/**
 * The store interface the memory service uses: the single host's SQLite store
 * (`./store.ts`, synchronous) and the fleet database's (`../fleet/memory_store.ts`, every call a
 * query with a deadline) both implement it, with the same semantics: one visible entry per
 * namespace and key with quarantined ones beside it, quotas per namespace and status held inside
 * the write's transaction, entries sealed so a row changed outside Warden reads as not intact.
 * Callers always `await` a result. A store that cannot answer throws (the service turns that
 * into an audited refusal); the messages `no memory entry N` and `entry N is not quarantined`
 * are the operator-facing ones (routes map them to 404 and 409).
 */
import type { EntryStatus, NewEntry, Quota, StoredEntry } from "./entry.ts";

/** A value or a promise of it. */
export type Awaitable<T> = T | Promise<T>;

/** Options of {@link MemoryBackend.find}. */
export interface FindOptions {
  prefix?: string;
  tags?: string[];
  text?: string;
  limit: number;
  maxBytes: number;
}

/** Where memory entries are kept. */
export interface MemoryBackend {
  /** Where (a file path, or `host:port/db` of the fleet database), for messages. */
  readonly where: string;
  /** Entries and bytes a namespace holds with `status`. */
  usage(namespace: string, status?: EntryStatus): Awaitable<Quota>;
  /**
   * Write an entry (a visible one replaces the visible one of its key; a quarantined one sits
   * beside it). Throws `QuotaError` when the namespace would exceed `quota` for that status.
   */
  put(e: NewEntry, quota: Quota, now: number): Awaitable<StoredEntry>;
  /** Write many entries at once; all or none. */
  putMany(entries: NewEntry[], quota: Quota, now: number): Awaitable<void>;
  /** The visible, unexpired entry of a key (intact or not: callers withhold what is not). */
  visible(namespace: string, key: string, now: number): Awaitable<StoredEntry | null>;
  /** One entry by id, whatever its status. */
  byId(id: number): Awaitable<StoredEntry | null>;
  /** Visible, unexpired entries of a namespace in key order (prefix, tags, text). */
  find(namespace: string, o: FindOptions, now: number): Awaitable<StoredEntry[]>;
  /** Entries for operators, newest first. */
  all(o: { status?: EntryStatus; namespace?: string; limit: number }): Awaitable<StoredEntry[]>;
  /** Delete the visible entry of a key. */
  deleteVisible(namespace: string, key: string): Awaitable<boolean>;
  /** Quarantine an intact entry (re-sealed). */
  quarantine(id: number, note: string): Awaitable<StoredEntry>;
  /** Release an intact quarantined entry: it becomes its key's visible entry. */
  release(id: number, note: string): Awaitable<StoredEntry>;
  /** Reject (delete) a quarantined entry; returns what it was. */
  reject(id: number): Awaitable<StoredEntry>;
  /** Quarantine every intact visible entry `writer` wrote at or after `since`. */
  quarantineBy(writer: string, since: number, note: string): Awaitable<StoredEntry[]>;
  /** Delete every expired entry; returns how many. */
  sweep(now: number): Awaitable<number>;
  close(): Awaitable<void>;
}
