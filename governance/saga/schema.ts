/**
 * Saga shapes (zod): the definition an agent submits and the records of the saga journal.
 * Pure: no I/O.
 * @module
 */
import { z } from "zod";

/** Error codes that are never retried, whatever a step's policy says. */
export const ALWAYS_NON_RETRYABLE: readonly string[] = ["denied", "approval_required", "invalid"];

/** Retry policy of a step (and of its compensation). */
export const RetryPolicy = z.strictObject({
  /** Total attempts, first one included. */
  attempts: z.number().int().min(1).max(100),
  /** First backoff delay; doubles per attempt. */
  baseMs: z.number().int().min(0).max(3_600_000),
  /** Backoff ceiling. */
  maxMs: z.number().int().min(0).max(3_600_000),
  /** Error codes that end the retries at once (added to `denied`, `approval_required`, `invalid`). */
  nonRetryable: z.array(z.string().min(1)).optional(),
});
/** Retry policy of a step. */
export type RetryPolicy = z.infer<typeof RetryPolicy>;

/** The retry policy used when a step gives none: one attempt. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 1, baseMs: 100, maxMs: 5000 };

/** A governed operation: a tool call. */
export const ToolCall = z.strictObject({
  tool: z.string().min(1).max(256),
  args: z.record(z.string(), z.unknown()).default({}),
});
/** A governed operation: a tool call. */
export type ToolCall = z.infer<typeof ToolCall>;

/** One step: an action and the compensation that undoes it. */
export const SagaStep = z.strictObject({
  name: z.string().min(1).max(256),
  action: ToolCall,
  compensation: ToolCall,
  retry: RetryPolicy.optional(),
  /** Per-attempt timeout of the action and of the compensation. */
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
});
/** One step of a saga. */
export type SagaStep = z.infer<typeof SagaStep>;

/** What an agent submits. */
export const SagaDefinition = z.strictObject({
  name: z.string().min(1).max(256),
  steps: z.array(SagaStep).min(1).max(1000),
  /** Overall timeout of the forward phase (compensation is not cut short by it). */
  timeoutMs: z.number().int().min(1).max(604_800_000).optional(),
});
/** What an agent submits. */
export type SagaDefinition = z.infer<typeof SagaDefinition>;

/** The agent a saga runs for (the governor's AgentRef, stored so a resume decides as it). */
export const SagaAgent = z.object({
  id: z.string(),
  name: z.string(),
  ring: z.number().int(),
  trust: z.number(),
  labels: z.record(z.string(), z.string()),
  workspace: z.string(),
  code: z.string(),
  sdk: z.string(),
});
/** The agent a saga runs for. */
export type SagaAgent = z.infer<typeof SagaAgent>;

/** A failure as journaled. */
export const SagaError = z.object({ code: z.string(), message: z.string() });
/** A failure as journaled. */
export type SagaError = z.infer<typeof SagaError>;

const base = { saga: z.string().min(1), ts: z.number() };
const stepBase = { ...base, step: z.number().int().min(0), attempt: z.number().int().min(1) };

/** One line of the saga journal. */
export const SagaRecord = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("saga.started"),
    ...base,
    agent: SagaAgent,
    definition: SagaDefinition,
  }),
  z.object({ type: z.literal("step.started"), ...stepBase }),
  z.object({ type: z.literal("step.succeeded"), ...stepBase, result: z.unknown().optional() }),
  z.object({ type: z.literal("step.failed"), ...stepBase, error: SagaError, final: z.boolean() }),
  z.object({ type: z.literal("compensation.started"), ...stepBase }),
  z.object({ type: z.literal("compensation.succeeded"), ...stepBase }),
  z.object({
    type: z.literal("compensation.failed"),
    ...stepBase,
    error: SagaError,
    final: z.boolean(),
  }),
  /** Forward phase abandoned for a reason outside a step (the saga timeout). */
  z.object({ type: z.literal("saga.compensating"), ...base, reason: z.string() }),
  z.object({ type: z.literal("saga.completed"), ...base }),
  z.object({ type: z.literal("saga.compensated"), ...base }),
  z.object({ type: z.literal("saga.failed"), ...base, reason: z.string() }),
  /** An operator asked to resume a `needs_attention` saga's compensation. */
  z.object({ type: z.literal("saga.retry"), ...base }),
]);
/** One line of the saga journal. */
export type SagaRecord = z.infer<typeof SagaRecord>;

/** Distributes Omit over a union. */
type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A record before the journal stamps it with the saga id and time. */
export type SagaEvent = DistOmit<SagaRecord, "saga" | "ts">;
