/**
 * The SDK's public types, written out without zod, so that an agent importing `@warden/sdk`
 * type-checks with nothing but the SDK's own files (no npm package in its graph or lockfile).
 * The zod schemas in wire_schema.ts stay the source of truth: wire_schema.ts asserts at
 * compile time that each type here is exactly its schema's.
 * @module
 */
import type { ERROR_CODES, MEMORY_SOURCES, SAGA_STATUSES } from "./replies.ts";

/** The ops an agent may send. */
export type SdkOp =
  | "tool.call"
  | "tool.authorize"
  | "fs.readText"
  | "fs.writeText"
  | "http.fetch"
  | "env.get"
  | "messages.send"
  | "messages.receive"
  | "identity"
  | "saga.run"
  | "rl.reset"
  | "rl.step"
  | "plugin.next"
  | "plugin.result"
  | "memory.put"
  | "memory.get"
  | "memory.list"
  | "memory.search"
  | "memory.delete"
  | "emit"
  | "log";

/** Why a request did not succeed (the codes and their meaning: ERROR_CODES in replies.ts). */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * A refusal (or failure) reported by Warden: `rule` is the deciding rule, `ruleReason` that
 * rule's own reason as its policy wrote it (both null when there is none), `message` the full
 * sentence. Nobody parses `message`.
 */
export interface Refusal {
  code: ErrorCode;
  message: string;
  rule: string | null;
  ruleReason: string | null;
}

/** What `http.fetch` returns: the host performed the request (redirects are not followed). */
export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  /** The body as text, at most 1 MiB. */
  body: string;
  /** The body was longer than the cap and was cut. */
  truncated: boolean;
}

/** A message delivered to an agent (`messages.receive`). */
export interface Message {
  /** The sender's did:key, verified by the receiving host. */
  from: string;
  payload: unknown;
  ts: number;
  seq: number;
}

/** How a saga ended (`saga.run`). */
export interface SagaOutcome {
  id: string;
  status: (typeof SAGA_STATUSES)[number];
  reason: string | null;
  steps: { name: string; status: string; result: unknown }[];
}

/** One step's outcome in a governed RL environment (`rl.step`). */
export interface RlStep {
  state: unknown;
  reward: number;
  done: boolean;
  /** The policy denied the action: it did not happen. */
  denied: boolean;
  reason?: string;
}

/** A host tool call for a plugin process (`plugin.next`). */
export interface PluginCall {
  callId: number;
  tool: string;
  args: Record<string, unknown>;
  idempotencyKey?: string;
}

/** Who wrote a memory entry, from what, when, and its content hash: kept by the host. */
export interface MemoryProvenance {
  /** The writer's did. */
  writer: string;
  writerName: string;
  /** The writer's ring and trust score when it wrote. */
  ring: number;
  trust: number;
  /** What the value came from, as the writer declared it (`agent` when it did not). */
  source: { kind: (typeof MEMORY_SOURCES)[number]; ref: string | null };
  /** Write time, ms since the epoch. */
  at: number;
  /** SHA-256 (hex) of the value's JSON text. */
  sha256: string;
}

/** A memory entry as a reader receives it: the value with its provenance. */
export interface MemoryEntry {
  namespace: string;
  key: string;
  value: unknown;
  tags: string[];
  provenance: MemoryProvenance;
  /** When it expires (ms since the epoch), or null. */
  expiresAt: number | null;
}

/** What `memory.put` reports: `quarantined` entries are withheld until an operator releases them. */
export interface MemoryPut {
  namespace: string;
  key: string;
  sha256: string;
  quarantined: boolean;
}

/** The result of each op's successful reply. */
export interface SdkResults {
  "tool.call": unknown;
  "tool.authorize": null;
  "fs.readText": string;
  "fs.writeText": null;
  "http.fetch": HttpResult;
  "env.get": string | null;
  "messages.send": null;
  "messages.receive": Message | null;
  identity: { did: string; name: string; ring: number };
  "saga.run": SagaOutcome;
  "rl.reset": { state: unknown; actions: string[] };
  "rl.step": RlStep;
  "plugin.next": PluginCall | null;
  "plugin.result": null;
  "memory.put": MemoryPut;
  "memory.get": MemoryEntry | null;
  "memory.list": MemoryEntry[];
  "memory.search": MemoryEntry[];
  "memory.delete": boolean;
  emit: null;
  log: null;
}

/** What a successful reply to `op` carries. */
export type SdkResult<O extends SdkOp> = SdkResults[O];
