/** Migration 1: hosts and leases, stream heads, policy bundles and channels, revocations, approvals. */
import type { Migration } from "./mod.ts";

export const migration: Migration = {
  version: 1,
  name: "core",
  sql: `
CREATE TABLE hosts (
  id text PRIMARY KEY,
  did text NOT NULL,
  peer_url text,
  api_url text,
  version text,
  tools_digest text,
  started_at timestamptz NOT NULL DEFAULT now(),
  lease_expires timestamptz NOT NULL,
  status jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE stream_heads (stream text PRIMARY KEY, pos bigint NOT NULL);
INSERT INTO stream_heads (stream, pos) VALUES ('revocations', 0), ('policy', 0);
CREATE TABLE policy_bundles (
  version bigint PRIMARY KEY,
  digest text NOT NULL UNIQUE,
  bundle bytea NOT NULL,
  sig text NOT NULL,
  publisher text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE policy_channels (
  name text PRIMARY KEY,
  version bigint NOT NULL REFERENCES policy_bundles (version),
  canary_version bigint REFERENCES policy_bundles (version),
  canary_share real NOT NULL DEFAULT 0,
  frozen boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE revocations (
  pos bigint PRIMARY KEY,
  kind text NOT NULL,
  target text NOT NULL,
  reason text NOT NULL DEFAULT '',
  issued_by text NOT NULL,
  issued_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz
);
CREATE TABLE revocation_acks (
  pos bigint NOT NULL,
  host_id text NOT NULL,
  result jsonb NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pos, host_id)
);
CREATE TABLE approvals (
  id text PRIMARY KEY,
  host_id text NOT NULL,
  agent_did text,
  agent text NOT NULL,
  request_hash text NOT NULL,
  action text NOT NULL,
  resource text NOT NULL,
  rule text,
  reason text NOT NULL DEFAULT '',
  item jsonb NOT NULL,
  state text NOT NULL DEFAULT 'pending',
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  decided_by text,
  decided_at timestamptz
);
CREATE INDEX approvals_state_expires ON approvals (state, expires_at);
`,
};
