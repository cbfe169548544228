/**
 * The SDK wire protocol (zod: the source of truth). Frames are a 4-byte big-endian length
 * followed by that many bytes of UTF-8 JSON. The agent sends requests, the host answers each
 * with a response carrying the same id. Agents import only the types (no zod at run time: an
 * agent process loads no npm packages), and check replies with `sdk/replies.ts`, which
 * tests/adapters/wire_reply_test.ts holds to these schemas.
 */
import { z } from "zod";
import { ERROR_CODES, SAGA_STATUSES } from "./replies.ts";

/** Largest request frame the host accepts (bytes of JSON). */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Largest response frame the host sends. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

const Id = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Json = z.record(z.string(), z.unknown());

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
  emit: z.null(),
  log: z.null(),
} as const satisfies { [O in SdkOp]: z.ZodType };
/** What a successful reply to `op` carries. */
export type SdkResult<O extends SdkOp> = z.infer<(typeof SdkResults)[O]>;
