/** The audit hash chain: each entry commits to the previous one (pure, no I/O). */
import { sha256Hex } from "./sha256.ts";

/** The hash that precedes the first entry. */
export const GENESIS = "0".repeat(64);

/** What every audit entry records (before chaining). */
export interface AuditFields {
  /** Milliseconds since the epoch, as an ISO string. */
  ts: string;
  /**
   * Where the decision was made: the permission broker, the SDK gateway, the host, or the MCP
   * gateway (a governed MCP server's `tools/call`, `resources/read`, `prompts/get`).
   */
  path: "broker" | "sdk" | "host" | "mcp" | "egress";
  agent: { id: string; name: string; ring: number };
  action: string;
  resource: string;
  effect: "allow" | "deny" | "require_approval";
  rule: string | null;
  reason: string;
  [extra: string]: unknown;
}

/** A chained entry (see `entryHash`). */
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

/**
 * A chained entry's hash: `SHA-256(0x00 || prev || body)`, where `body` is the entry's JSON
 * without its `hash`, exactly as written in the log (the writer fixes the key order; `hash` is
 * appended last). The 0x00 prefix makes each chain hash an RFC 6962 leaf hash as well, so the
 * Merkle tree is built over the chain hashes and a tampered line breaks both.
 */
export function entryHash(prev: string, body: Omit<AuditEntry, "hash">): string {
  return hashBody(prev, JSON.stringify(body));
}

/** The chain hash of a body JSON text after `prev` (`"\0"` is the 0x00 byte in UTF-8). */
export function hashBody(prev: string, bodyJson: string): string {
  return sha256Hex("\0" + prev + bodyJson);
}

/** Chain `fields` after `prev` at position `seq`; `line` is the JSONL line to write. */
export function chainEntry(
  fields: AuditFields,
  seq: number,
  prev: string,
): { entry: AuditEntry; line: string } {
  const entry = { seq, prev, ...fields } as AuditEntry;
  const json = JSON.stringify(entry);
  const hash = hashBody(prev, json);
  entry.hash = hash;
  return { entry, line: `${json.slice(0, -1)},"hash":"${hash}"}\n` };
}

const SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;
const HEAD = /^\{"seq":(0|[1-9]\d{0,15}),"prev":"([0-9a-f]{64})",/;

/**
 * Verify raw log lines: each line's hash is recomputed over its own bytes (minus the hash),
 * and linked to the previous one. Returns the first bad line (or -1) and every line's hash.
 */
export function verifyLines(
  lines: readonly string[],
  start = GENESIS,
): { bad: number; why: string; hashes: string[] } {
  let prev = start;
  const hashes: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    // The writer puts seq and prev first; the hash below covers every byte of the line.
    const head = HEAD.exec(line);
    if (!head) return { bad: i, why: 'not an audit entry (expected {"seq":…,"prev":…)', hashes };
    const m = SUFFIX.exec(line);
    if (!m) return { bad: i, why: "no trailing hash field", hashes };
    if (head[2] !== prev) return { bad: i, why: "previous hash does not match", hashes };
    if (Number(head[1]) !== i) return { bad: i, why: `sequence ${head[1]}, expected ${i}`, hashes };
    const hash = hashBody(prev, line.slice(0, line.length - m[0].length) + "}");
    if (hash !== m[1]) return { bad: i, why: "entry hash does not match its content", hashes };
    hashes.push(hash);
    prev = hash;
  }
  return { bad: -1, why: "", hashes };
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
