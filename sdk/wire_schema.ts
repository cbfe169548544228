/**
 * The SDK wire protocol (zod: the source of truth). Frames are a 4-byte big-endian length
 * followed by that many bytes of UTF-8 JSON. The agent sends requests, the host answers each
 * with a response carrying the same id. Agents import only zod-free copies of the types
 * (`sdk/types.ts`, held to these schemas by `TypesMatchSchemas` below: an agent's type check
 * needs no npm package, and an agent process loads none), and check replies with
 * `sdk/replies.ts`, which tests/adapters/wire_reply_test.ts holds to these schemas.
 */
import { z } from "zod";
import { ERROR_CODES, MEMORY_SOURCES, SAGA_STATUSES } from "./replies.ts";
import type * as T from "./types.ts";

/** Largest request frame the host accepts (bytes of JSON). */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Largest response frame the host sends. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

const Id = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Json = z.record(z.string(), z.unknown());

/** A memory namespace as asked (the host resolves it: runtime/memory/names.ts). */
const MemNamespace = z.string().max(256).optional();
const MemKey = z.string().min(1).max(512);
const MemTags = z.array(
  z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, "a tag is 1-64 ASCII letters, digits or ._:-"),
).max(32).optional();
const MemLimit = z.number().int().min(1).max(1000).optional();

/** A request from the agent. */
export const SdkRequest = z.discriminatedUnion("op", [
  z.strictObject({
    id: Id,
    op: z.literal("tool.call"),
    name: z.string().min(1).max(256),
    args: Json.default({}),
  }),
  z.strictObject({
    id: Id,
    op: z.literal("tool.authorize"),
    name: z.string().min(1).max(256),
    args: Json.default({}),
  }),
  z.strictObject({ id: Id, op: z.literal("fs.readText"), path: z.string().min(1).max(4096) }),
  z.strictObject({
    id: Id,
    op: z.literal("fs.writeText"),
    path: z.string().min(1).max(4096),
    text: z.string(),
  }),
  z.strictObject({
    id: Id,
    op: z.literal("http.fetch"),
    url: z.string().min(1).max(8192),
    method: z.string().regex(/^[A-Z]{1,16}$/, "method must be upper-case letters").default("GET"),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.string().optional(),
  }),
  z.strictObject({ id: Id, op: z.literal("env.get"), name: z.string().min(1).max(256) }),
  z.strictObject({
    id: Id,
    op: z.literal("messages.send"),
    to: z.string().regex(/^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$/, "expected a did:key"),
    payload: z.unknown(),
  }),
  z.strictObject({
    id: Id,
    op: z.literal("messages.receive"),
    timeoutMs: z.number().int().min(0).max(300_000).default(0),
  }),
  z.strictObject({ id: Id, op: z.literal("identity") }),
  z.strictObject({ id: Id, op: z.literal("saga.run"), definition: z.unknown() }),
  z.strictObject({ id: Id, op: z.literal("rl.reset") }),
  z.strictObject({ id: Id, op: z.literal("rl.step"), action: z.string().min(1).max(256) }),
  z.strictObject({
    id: Id,
    op: z.literal("plugin.next"),
    timeoutMs: z.number().int().min(0).max(300_000),
  }),
  z.strictObject({
    id: Id,
    op: z.literal("plugin.result"),
    callId: z.number().int().min(1),
    ok: z.boolean(),
    result: z.unknown().optional(),
    error: z.string().max(65536).optional(),
  }),
  z.strictObject({
    id: Id,
    op: z.literal("memory.put"),
    namespace: MemNamespace,
    key: MemKey,
    value: z.unknown(),
    ttlMs: z.number().int().min(1).max(10 * 365 * 86_400_000).optional(),
    tags: MemTags,
    source: z.strictObject({
      kind: z.enum(MEMORY_SOURCES),
      ref: z.string().max(2048).optional(),
    }).optional(),
  }),
  z.strictObject({ id: Id, op: z.literal("memory.get"), namespace: MemNamespace, key: MemKey }),
  z.strictObject({
    id: Id,
    op: z.literal("memory.list"),
    namespace: MemNamespace,
    prefix: z.string().max(512).optional(),
    tags: MemTags,
    limit: MemLimit,
  }),
  z.strictObject({
    id: Id,
    op: z.literal("memory.search"),
    namespace: MemNamespace,
    text: z.string().min(1).max(256),
    prefix: z.string().max(512).optional(),
    tags: MemTags,
    limit: MemLimit,
  }),
  z.strictObject({ id: Id, op: z.literal("memory.delete"), namespace: MemNamespace, key: MemKey }),
  z.strictObject({ id: Id, op: z.literal("emit"), output: z.unknown() }),
  z.strictObject({
    id: Id,
    op: z.literal("log"),
    level: z.enum(["debug", "info", "warn", "error"]).default("info"),
    message: z.string().max(65536),
  }),
]);
export type SdkRequest = z.infer<typeof SdkRequest>;
export type SdkOp = SdkRequest["op"];

/** Why a request did not succeed (the codes and their meaning: ERROR_CODES in replies.ts). */
export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;

/**
 * A refusal (or failure) reported by Warden: the error of a failed reply, and the one refusal
 * shape of the host and the SDK. `rule` is the deciding rule, `ruleReason` that rule's own
 * reason as its policy wrote it (the Decision's `ruleReason`); both null when there is none,
 * and `message` is the full sentence. Nobody parses `message`.
 */
export const Refusal = z.strictObject({
  code: ErrorCode,
  message: z.string(),
  rule: z.string().nullable().default(null),
  ruleReason: z.string().nullable().default(null),
});
/** A refusal as read (both nullable fields present). */
export type Refusal = z.output<typeof Refusal>;

/** The host's answer. */
export const SdkResponse = z.union([
  z.strictObject({ id: Id, ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ id: Id.nullable(), ok: z.literal(false), error: Refusal }),
]);
/** The host's answer as written (a refusal's `rule` and `ruleReason` may be left out). */
export type SdkResponse = z.input<typeof SdkResponse>;

/** What `http.fetch` returns. */
export const HttpResult = z.strictObject({
  status: z.number(),
  headers: z.record(z.string(), z.string()),
  body: z.string(),
  truncated: z.boolean(),
});
export type HttpResult = z.infer<typeof HttpResult>;

/** A message delivered to an agent (`messages.receive`). */
export const Message = z.strictObject({
  /** The sender's did:key, verified by the receiving host. */
  from: z.string(),
  payload: z.unknown(),
  ts: z.number(),
  seq: z.number(),
});
export type Message = z.infer<typeof Message>;

/** How a saga ended (`saga.run`). */
export const SagaOutcome = z.strictObject({
  id: z.string(),
  status: z.enum(SAGA_STATUSES),
  reason: z.string().nullable(),
  steps: z.array(z.strictObject({ name: z.string(), status: z.string(), result: z.unknown() })),
});
export type SagaOutcome = z.infer<typeof SagaOutcome>;

/** One step's outcome in a governed RL environment (`rl.step`). */
export const RlStep = z.strictObject({
  state: z.unknown(),
  reward: z.number(),
  done: z.boolean(),
  /** The policy denied the action: it did not happen. */
  denied: z.boolean(),
  reason: z.string().optional(),
});
export type RlStep = z.infer<typeof RlStep>;

/** A host tool call for a plugin process (`plugin.next`). */
export const PluginCall = z.strictObject({
  callId: z.number().int().min(1),
  tool: z.string(),
  args: Json,
  idempotencyKey: z.string().optional(),
});
export type PluginCall = z.infer<typeof PluginCall>;

/** Who wrote a memory entry, from what, when, and its content hash (kept by the host). */
export const MemoryProvenance = z.strictObject({
  writer: z.string(),
  writerName: z.string(),
  ring: z.number().int(),
  trust: z.number(),
  source: z.strictObject({ kind: z.enum(MEMORY_SOURCES), ref: z.string().nullable() }),
  at: z.number(),
  sha256: z.string(),
});
export type MemoryProvenance = z.infer<typeof MemoryProvenance>;

/** A memory entry as a reader receives it (`memory.get`, `memory.list`, `memory.search`). */
export const MemoryEntry = z.strictObject({
  namespace: z.string(),
  key: z.string(),
  value: z.unknown(),
  tags: z.array(z.string()),
  provenance: MemoryProvenance,
  expiresAt: z.number().nullable(),
});
export type MemoryEntry = z.infer<typeof MemoryEntry>;

/** What `memory.put` reports. */
export const MemoryPut = z.strictObject({
  namespace: z.string(),
  key: z.string(),
  sha256: z.string(),
  quarantined: z.boolean(),
});
export type MemoryPut = z.infer<typeof MemoryPut>;

/** The result of each op's successful reply: the SDK refuses any other as `invalid`. */
export const SdkResults = {
  "tool.call": z.unknown(),
  "tool.authorize": z.null(),
  "fs.readText": z.string(),
  "fs.writeText": z.null(),
  "http.fetch": HttpResult,
  "env.get": z.string().nullable(),
  "messages.send": z.null(),
  "messages.receive": Message.nullable(),
  identity: z.strictObject({ did: z.string(), name: z.string(), ring: z.number().int() }),
  "saga.run": SagaOutcome,
  "rl.reset": z.strictObject({ state: z.unknown(), actions: z.array(z.string()) }),
  "rl.step": RlStep,
  "plugin.next": PluginCall.nullable(),
  "plugin.result": z.null(),
  "memory.put": MemoryPut,
  "memory.get": MemoryEntry.nullable(),
  "memory.list": z.array(MemoryEntry),
  "memory.search": z.array(MemoryEntry),
  "memory.delete": z.boolean(),
  emit: z.null(),
  log: z.null(),
} as const satisfies { [O in SdkOp]: z.ZodType };
/** What a successful reply to `op` carries. */
export type SdkResult<O extends SdkOp> = z.infer<(typeof SdkResults)[O]>;

/** Both ways assignable: the same type. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
/**
 * The zod-free types agents import (types.ts) are exactly these schemas' types: a drift on
 * either side fails `deno check`.
 */
export type TypesMatchSchemas = [
  Holds<Same<SdkOp, T.SdkOp>>,
  Holds<Same<ErrorCode, T.ErrorCode>>,
  Holds<Same<Refusal, T.Refusal>>,
  Holds<Same<HttpResult, T.HttpResult>>,
  Holds<Same<Message, T.Message>>,
  Holds<Same<SagaOutcome, T.SagaOutcome>>,
  Holds<Same<RlStep, T.RlStep>>,
  Holds<Same<PluginCall, T.PluginCall>>,
  Holds<Same<MemoryEntry, T.MemoryEntry>>,
  Holds<Same<MemoryPut, T.MemoryPut>>,
  Holds<Same<{ [O in SdkOp]: SdkResult<O> }, T.SdkResults>>,
];
