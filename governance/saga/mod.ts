/**
 * Sagas, the pure part: definition and journal schemas, the reducer that replays a journal
 * into saga state, the next-move rule, and retry/backoff decisions.
 * @module
 */
export {
  ALWAYS_NON_RETRYABLE,
  DEFAULT_RETRY,
  RetryPolicy,
  SagaAgent,
  SagaDefinition,
  SagaError,
  type SagaEvent,
  SagaRecord,
  SagaStep,
  ToolCall,
} from "./schema.ts";
export {
  applyRecord,
  nextMove,
  OPEN_STATUSES,
  replay,
  type SagaMove,
  type SagaState,
  type SagaStatus,
  type StepState,
  type StepStatus,
} from "./state.ts";
export { backoffDelay, isRetryable } from "./backoff.ts";

/** The idempotency key of a step's action (`do`) or compensation (`undo`). */
export function idempotencyKey(sagaId: string, step: number, phase: "do" | "undo"): string {
  return `${sagaId}:${step}:${phase}`;
}
