/** The shapes of memory entries: provenance, status, stored and new entries, quotas. */
import { MEMORY_SOURCES } from "../../sdk/replies.ts";

/** What an entry's value came from, as the writer declared it. */
export type SourceKind = (typeof MEMORY_SOURCES)[number];
export { MEMORY_SOURCES };

/** Who wrote an entry, from what, when, and the hash of its bytes: kept by the host. */
export interface Provenance {
  writer: string;
  writerName: string;
  ring: number;
  trust: number;
  source: { kind: SourceKind; ref: string | null };
  /** Write time (ms since the epoch). */
  at: number;
  sha256: string;
}

export type EntryStatus = "visible" | "quarantined";

/** An entry as stored. `intact`: its bytes match its hash and its seal. */
export interface StoredEntry {
  id: number;
  namespace: string;
  key: string;
  /** The value's JSON text. */
  value: string;
  bytes: number;
  tags: string[];
  provenance: Provenance;
  expiresAt: number | null;
  status: EntryStatus;
  /** Why it is quarantined (or was released). */
  note: string | null;
  intact: boolean;
}

/** An entry to write. */
export interface NewEntry {
  namespace: string;
  key: string;
  value: string;
  tags: string[];
  provenance: Omit<Provenance, "sha256">;
  expiresAt: number | null;
  status: EntryStatus;
  note: string | null;
}

/** Per-namespace limits. */
export interface Quota {
  entries: number;
  bytes: number;
}

/** A write the namespace's quota does not fit. */
export class QuotaError extends Error {}
