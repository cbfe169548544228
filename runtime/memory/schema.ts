/**
 * The memory store's SQLite schema: entries (a partial unique index makes one visible entry per
 * namespace and key; quarantined ones sit beside it), and per-namespace usage by status kept by
 * triggers (runtime/memory/store.ts).
 */
import type { SealedRow } from "./seal.ts";

/** The schema and connection settings, applied on every open (idempotent). */
export const SCHEMA = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA busy_timeout = 5000;
PRAGMA cache_size = -32768;
PRAGMA mmap_size = 268435456;
CREATE TABLE IF NOT EXISTS entries (
  id INTEGER PRIMARY KEY,
  namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, tags TEXT NOT NULL,
  writer TEXT NOT NULL, writer_name TEXT NOT NULL, ring INTEGER NOT NULL, trust INTEGER NOT NULL,
  source_kind TEXT NOT NULL, source_ref TEXT, created_at INTEGER NOT NULL, expires_at INTEGER,
  status TEXT NOT NULL, note TEXT, seal TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS entries_visible ON entries(namespace, key)
  WHERE status = 'visible';
CREATE INDEX IF NOT EXISTS entries_writer ON entries(writer, created_at);
CREATE TABLE IF NOT EXISTS usage (
  namespace TEXT NOT NULL, status TEXT NOT NULL, entries INTEGER NOT NULL, bytes INTEGER NOT NULL,
  PRIMARY KEY (namespace, status)
);
CREATE TRIGGER IF NOT EXISTS usage_insert AFTER INSERT ON entries BEGIN
  INSERT INTO usage VALUES (new.namespace, new.status, 1, new.bytes)
    ON CONFLICT(namespace, status) DO UPDATE SET entries = entries + 1, bytes = bytes + new.bytes;
END;
CREATE TRIGGER IF NOT EXISTS usage_delete AFTER DELETE ON entries BEGIN
  UPDATE usage SET entries = entries - 1, bytes = bytes - old.bytes
    WHERE namespace = old.namespace AND status = old.status;
END;
CREATE TRIGGER IF NOT EXISTS usage_status AFTER UPDATE OF status ON entries
  WHEN old.status <> new.status BEGIN
  UPDATE usage SET entries = entries - 1, bytes = bytes - old.bytes
    WHERE namespace = old.namespace AND status = old.status;
  INSERT INTO usage VALUES (new.namespace, new.status, 1, new.bytes)
    ON CONFLICT(namespace, status) DO UPDATE SET entries = entries + 1, bytes = bytes + new.bytes;
END;
`;

/** A row of `entries` as node:sqlite returns it: the sealed fields, its id, value and seal. */
export type Row = SealedRow & { id: number; value: string; seal: string };
