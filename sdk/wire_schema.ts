/**
 * The SDK wire protocol (zod: the source of truth). Frames are a 4-byte big-endian length
 * followed by that many bytes of UTF-8 JSON. The agent sends requests, the host answers each
 * with a response carrying the same id. Agents import only the types (no zod at run time).
 */
import { z } from "zod";

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

/** Why a request did not succeed. */
export const ErrorCode = z.enum([
  "denied", // the policy (or ring ceiling) denied it
  "approval_required", // parked for a human; not performed
  "invalid", // malformed request or arguments
  "failed", // allowed, but the operation failed
  "busy", // too many requests in flight or too fast
  "killed", // the agent was killed
  "timeout", // the operation took too long
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** The host's answer. */
export const SdkResponse = z.union([
  z.strictObject({ id: Id, ok: z.literal(true), result: z.unknown() }),
  z.strictObject({
    id: Id.nullable(),
    ok: z.literal(false),
    error: z.strictObject({
      code: ErrorCode,
      message: z.string(),
      rule: z.string().nullable().optional(),
    }),
  }),
]);
export type SdkResponse = z.infer<typeof SdkResponse>;

/** What `http.fetch` returns. */
export const HttpResult = z.strictObject({
  status: z.number(),
  headers: z.record(z.string(), z.string()),
  body: z.string(),
  truncated: z.boolean(),
});
export type HttpResult = z.infer<typeof HttpResult>;
