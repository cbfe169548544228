/**
 * Checks of the host's replies, run in the agent process. An agent process loads no npm
 * packages (`--no-npm`), so these are plain functions, not zod: the same shapes as `SdkResults`
 * and `Refusal` in wire_schema.ts, held to those schemas by tests/adapters/wire_reply_test.ts.
 * Each check returns null when the value fits, else what is wrong with it.
 * @module
 */
import type { SdkOp } from "./types.ts";

type Check = (v: unknown) => string | null;

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

const any: Check = () => null;
const nul: Check = (v) => (v === null ? null : "expected null");
const str: Check = (v) => (typeof v === "string" ? null : "expected a string");
const bool: Check = (v) => (typeof v === "boolean" ? null : "expected a boolean");
const num: Check = (v) =>
  typeof v === "number" && Number.isFinite(v) ? null : "expected a finite number";
const int = (min = Number.MIN_SAFE_INTEGER): Check => (v) =>
  Number.isSafeInteger(v) && (v as number) >= min ? null : `expected an integer of at least ${min}`;
const nullable = (c: Check): Check => (v) => (v === null ? null : c(v));
const oneOf = (values: readonly string[]): Check => (v) =>
  typeof v === "string" && values.includes(v) ? null : `expected one of ${values.join(", ")}`;

const array = (item: Check): Check => (v) => {
  if (!Array.isArray(v)) return "expected an array";
  for (const [i, x] of v.entries()) {
    const no = item(x);
    if (no) return `${i}: ${no}`;
  }
  return null;
};

const record = (value: Check): Check => (v) => {
  if (!isRecord(v)) return "expected an object";
  for (const [k, x] of Object.entries(v)) {
    const no = value(x);
    if (no) return `${k}: ${no}`;
  }
  return null;
};

/** A strict object: the listed fields (`optional` ones may be absent), nothing else. */
const object = (fields: Record<string, Check>, optional: readonly string[] = []): Check => {
  const names = Object.keys(fields);
  const checks = names.map((k) => fields[k]);
  const mayLack = new Set(optional);
  return (v) => {
    if (!isRecord(v)) return "expected an object";
    for (const k of Object.keys(v)) {
      if (!Object.hasOwn(fields, k)) return `unexpected field ${JSON.stringify(k)}`;
    }
    for (let i = 0; i < names.length; i++) {
      const k = names[i];
      if (!Object.hasOwn(v, k)) {
        if (mayLack.has(k)) continue;
        return `${k}: missing`;
      }
      const no = checks[i](v[k]);
      if (no) return `${k}: ${no}`;
    }
    return null;
  };
};

/** Why a request did not succeed: the error codes a refusal may carry (ErrorCode). */
export const ERROR_CODES = [
  "denied", // the policy (or ring ceiling) denied it
  "approval_required", // parked for a human; not performed
  "invalid", // malformed request or arguments, or a malformed reply
  "failed", // allowed, but the operation failed
  "busy", // too many requests in flight or too fast
  "killed", // the agent was killed
  "timeout", // the operation took too long
] as const;

/** How a saga may stand (SagaOutcome's `status`). */
export const SAGA_STATUSES = [
  "completed",
  "compensated",
  "failed",
  "needs_attention",
  "running",
  "compensating",
] as const;

/** What a memory entry's value came from, as its writer declared it. */
export const MEMORY_SOURCES = ["tool", "url", "message", "agent"] as const;

const HTTP_RESULT = object({ status: num, headers: record(str), body: str, truncated: bool });
const MESSAGE = object({ from: str, payload: any, ts: num, seq: num });
const SAGA_OUTCOME = object({
  id: str,
  status: oneOf(SAGA_STATUSES),
  reason: nullable(str),
  steps: array(object({ name: str, status: str, result: any })),
});
const RL_STEP = object(
  { state: any, reward: num, done: bool, denied: bool, reason: str },
  ["reason"],
);
const PLUGIN_CALL = object(
  { callId: int(1), tool: str, args: record(any), idempotencyKey: str },
  ["idempotencyKey"],
);

const MEMORY_ENTRY = object({
  namespace: str,
  key: str,
  value: any,
  tags: array(str),
  provenance: object({
    writer: str,
    writerName: str,
    ring: int(),
    trust: num,
    source: object({ kind: oneOf(MEMORY_SOURCES), ref: nullable(str) }),
    at: num,
    sha256: str,
  }),
  expiresAt: nullable(num),
});

const RESULTS: { readonly [O in SdkOp]: Check } = {
  "tool.call": any,
  "tool.authorize": nul,
  "fs.readText": str,
  "fs.writeText": nul,
  "http.fetch": HTTP_RESULT,
  "env.get": nullable(str),
  "messages.send": nul,
  "messages.receive": nullable(MESSAGE),
  identity: object({ did: str, name: str, ring: int() }),
  "saga.run": SAGA_OUTCOME,
  "rl.reset": object({ state: any, actions: array(str) }),
  "rl.step": RL_STEP,
  "plugin.next": nullable(PLUGIN_CALL),
  "plugin.result": nul,
  "memory.put": object({ namespace: str, key: str, sha256: str, quarantined: bool }),
  "memory.get": nullable(MEMORY_ENTRY),
  "memory.list": array(MEMORY_ENTRY),
  "memory.search": array(MEMORY_ENTRY),
  "memory.delete": bool,
  emit: nul,
  log: nul,
};

const REFUSAL = object(
  { code: oneOf(ERROR_CODES), message: str, rule: nullable(str), ruleReason: nullable(str) },
  ["rule", "ruleReason"],
);

/** What is wrong with `result` as the reply to `op` (null: nothing). */
export function resultProblem(op: SdkOp, result: unknown): string | null {
  return Object.hasOwn(RESULTS, op) ? RESULTS[op](result) : `unknown op ${JSON.stringify(op)}`;
}

/** What is wrong with `error` as a refusal (null: nothing). */
export function refusalProblem(error: unknown): string | null {
  return REFUSAL(error);
}
