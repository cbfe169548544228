/** The audit hash chain: each entry commits to the previous one (pure, no I/O). */
import { createHash } from "node:crypto";

/** The hash that precedes the first entry. */
export const GENESIS = "0".repeat(64);

/** What every audit entry records (before chaining). */
export interface AuditFields {
  /** Milliseconds since the epoch, as an ISO string. */
  ts: string;
  /** Where the decision was made: the permission broker, the SDK gateway, or the host. */
  path: "broker" | "sdk" | "host";
  agent: { id: string; name: string; ring: number };
  action: string;
  resource: string;
  effect: "allow" | "deny" | "require_approval";
  rule: string | null;
  reason: string;
  [extra: string]: unknown;
}

/**
 * A chained entry: `hash = sha256(prev || body)` where `body` is the entry's JSON without its
 * `hash`, exactly as written in the log (the writer fixes the key order, and JSON.parse then
 * JSON.stringify reproduces the same bytes, so a verifier hashes what it reads).
 */
export interface AuditEntry extends AuditFields {
  seq: number;
  prev: string;
  hash: string;
}

/** Canonical JSON: keys sorted at every level, no insignificant whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
}

/** Hash of an entry given the previous hash. */
export function entryHash(prev: string, body: Omit<AuditEntry, "hash">): string {
  return createHash("sha256").update(prev).update(JSON.stringify(body)).digest("hex");
}

/** Chain `fields` after `prev` at position `seq`; `line` is the JSONL line to write. */
export function chainEntry(
  fields: AuditFields,
  seq: number,
  prev: string,
): { entry: AuditEntry; line: string } {
  const body = { seq, prev, ...fields };
  const json = JSON.stringify(body);
  const hash = createHash("sha256").update(prev).update(json).digest("hex");
  return { entry: { ...body, hash }, line: `${json.slice(0, -1)},"hash":"${hash}"}\n` };
}

/** Verify a sequence of entries; returns the index of the first bad one, or -1. */
export function verifyChain(
  entries: readonly AuditEntry[],
  start = GENESIS,
): { bad: number; why: string } {
  let prev = start;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const { hash, ...body } = e;
    if (e.prev !== prev) return { bad: i, why: "previous hash does not match" };
    if (e.seq !== i) return { bad: i, why: `sequence ${e.seq}, expected ${i}` };
    if (entryHash(prev, body) !== hash) {
      return { bad: i, why: "entry hash does not match its content" };
    }
    prev = hash;
  }
  return { bad: -1, why: "" };
}
