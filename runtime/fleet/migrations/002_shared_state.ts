/**
 * Migration 2: the fleet's shared state of part 2 (FLEET.md §5) — trust scores and their
 * events, saga ownership and journals, the federated audit copy, the agent directory and the
 * message sequence blocks. Plain tables, primary keys and indexes only (portable, §8).
 * @module
 */

import type { Migration } from "./mod.ts";

/** Migration 2 (applied after 1, under the migration lock). */
export const migration: Migration = {
  version: 2,
  name: "trust_sagas_audit_directory",
  // The federated audit copy: hosts insert and read, never rewrite.
  appendOnly: ["audit_entries", "audit_checkpoints"],
  sql: `
CREATE TABLE trust_scores (
  did text PRIMARY KEY,
  score double precision NOT NULL,
  at bigint NOT NULL,
  earned jsonb,
  version bigint NOT NULL DEFAULT 0,
  changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trust_scores_changed ON trust_scores (changed_at);
CREATE TABLE trust_events (
  id uuid PRIMARY KEY,
  did text NOT NULL,
  host_id text NOT NULL,
  event jsonb NOT NULL,
  at bigint NOT NULL,
  version bigint NOT NULL
);
CREATE INDEX trust_events_did ON trust_events (did, version);
CREATE TABLE sagas (
  saga_id text PRIMARY KEY,
  owner_host text NOT NULL,
  epoch bigint NOT NULL,
  next_n integer NOT NULL,
  status text NOT NULL,
  tools_digest text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sagas_status_owner ON sagas (status, owner_host);
CREATE TABLE saga_records (
  saga_id text NOT NULL,
  n integer NOT NULL,
  epoch bigint NOT NULL,
  record jsonb NOT NULL,
  PRIMARY KEY (saga_id, n)
);
CREATE TABLE audit_entries (
  host_id text NOT NULL,
  seq bigint NOT NULL,
  ts timestamptz NOT NULL,
  agent_did text,
  agent_name text,
  action text,
  effect text,
  rule text,
  line text NOT NULL,
  PRIMARY KEY (host_id, seq)
);
CREATE INDEX audit_entries_agent_ts ON audit_entries (agent_did, ts);
CREATE INDEX audit_entries_ts ON audit_entries (ts);
CREATE INDEX audit_entries_name_ts ON audit_entries (agent_name, ts);
CREATE TABLE audit_checkpoints (
  host_id text NOT NULL,
  size bigint NOT NULL,
  line text NOT NULL,
  PRIMARY KEY (host_id, size)
);
CREATE TABLE agents (
  did text PRIMARY KEY,
  name text NOT NULL,
  host_id text NOT NULL,
  ring integer NOT NULL,
  labels jsonb NOT NULL,
  state text NOT NULL,
  since timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_host ON agents (host_id);
CREATE TABLE msg_seq (
  from_did text NOT NULL,
  to_did text NOT NULL,
  next_out bigint NOT NULL DEFAULT 1,
  last_in bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (from_did, to_did)
);
`,
};
