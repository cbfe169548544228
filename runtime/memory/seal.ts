/**
 * What makes a memory entry checkable: the SHA-256 of its value's bytes, and the store's own
 * sealing key (`<db>.key`, 32 random bytes as hex, mode 0600) under which each row's fields are
 * HMAC'd (runtime/memory/store.ts).
 */
import { randomBytes } from "node:crypto";
import { sha256Hex } from "../../governance/audit/sha256.ts";
import type { EntryStatus, NewEntry, SourceKind, StoredEntry } from "./entry.ts";

const HEX = new WeakMap<Uint8Array, string>();

/**
 * The seal of a row's fields under the store's key, HMAC-style in two one-shot SHA-256 calls,
 * `H("o" k ‖ H("i" k ‖ fields))` (node's createHmac costs about 20 µs a call on Deno 2.9.6, this
 * about 7; the outer hash of a fixed-length input leaves no length extension).
 */
export function sealFields(key: Uint8Array, fields: unknown[]): string {
  let k = HEX.get(key);
  if (k === undefined) {
    HEX.set(
      key,
      k = Array.from(key, (b) => b.toString(16).padStart(2, "0")).join(""),
    );
  }
  return sha256Hex(`o${k}${sha256Hex(`i${k}${JSON.stringify(fields)}`)}`);
}

/** The fields of a stored row its seal covers: everything but its id, value (hashed) and seal. */
export type SealedRow = {
  namespace: string;
  key: string;
  sha256: string;
  bytes: number;
  tags: string;
  writer: string;
  writer_name: string;
  ring: number;
  trust: number;
  source_kind: string;
  source_ref: string | null;
  created_at: number;
  expires_at: number | null;
  status: string;
  note: string | null;
};

/** The seal of a row (the SQLite and the fleet store seal the same fields the same way). */
export function sealRow(key: Uint8Array, r: SealedRow): string {
  return sealFields(key, [
    ...[r.namespace, r.key, r.sha256, r.bytes, r.tags, r.writer, r.writer_name, r.ring],
    ...[r.trust, r.source_kind, r.source_ref, r.created_at, r.expires_at, r.status, r.note],
  ]);
}

/** The SHA-256 of a value's UTF-8 bytes (hex). */
export function contentHash(text: string): string {
  return sha256Hex(text);
}

/** The store's sealing key: `<db>.key` (64 hex digits), created (0600) on first open. */
export function storeKey(path: string, create: boolean): Uint8Array {
  const file = `${path}.key`;
  let text: string | null = null;
  try {
    text = Deno.readTextFileSync(file).trim();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) || !create) throw e;
  }
  if (text !== null) {
    if (!/^[0-9a-f]{64}$/.test(text)) throw new Error(`${file}: not a memory store key`);
    return Uint8Array.from(text.match(/../g)!.map((h) => parseInt(h, 16)));
  }
  const key = randomBytes(32);
  Deno.writeTextFileSync(file, key.toString("hex") + "\n", { mode: 0o600, createNew: true });
  return key;
}

/**
 * A stored row as an entry, `intact` when its value matches its hash and its fields their seal
 * under `key` (`r` has every column of the entries table, as either store reads it).
 */
export function entryOfRow(
  key: Uint8Array,
  r: SealedRow & { id: number; value: string; seal: string },
): StoredEntry {
  let tags: string[] = [];
  try {
    tags = JSON.parse(r.tags);
  } catch { /* not intact: the seal covers the tags text */ }
  const intact = contentHash(r.value) === r.sha256 && sealRow(key, r) === r.seal;
  return {
    id: r.id,
    namespace: r.namespace,
    key: r.key,
    value: r.value,
    bytes: r.bytes,
    tags,
    provenance: {
      writer: r.writer,
      writerName: r.writer_name,
      ring: r.ring,
      trust: r.trust,
      source: { kind: r.source_kind as SourceKind, ref: r.source_ref },
      at: r.created_at,
      sha256: r.sha256,
    },
    expiresAt: r.expires_at,
    status: r.status as EntryStatus,
    note: r.note,
    intact,
  };
}

/** The sealed fields of a new entry (both stores build their rows from this). */
export function sealedRowOf(e: NewEntry): SealedRow {
  const p = e.provenance;
  return {
    namespace: e.namespace,
    key: e.key,
    sha256: contentHash(e.value),
    bytes: new TextEncoder().encode(e.value).length,
    tags: JSON.stringify(e.tags),
    writer: p.writer,
    writer_name: p.writerName,
    ring: p.ring,
    trust: p.trust,
    source_kind: p.source.kind,
    source_ref: p.source.ref,
    created_at: p.at,
    expires_at: e.expiresAt,
    status: e.status,
    note: e.note,
  };
}
