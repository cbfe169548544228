/**
 * Saga state rebuilt from journal records (a reducer), and the next move it calls for.
 * Pure: no I/O, no clock.
 * @module
 */
import type { SagaAgent, SagaDefinition, SagaError, SagaRecord } from "./schema.ts";

/** Where a saga is. */
export type SagaStatus =
  | "running"
  | "compensating"
  | "completed"
  | "compensated"
  | "failed"
  | "needs_attention";

/** Where one step is. */
export type StepStatus =
  | "pending"
  | "running"
  | "succeeded"
  | "failed"
  | "compensating"
  | "compensated"
  | "compensation_failed";

/** One step's state. */
export interface StepState {
  name: string;
  status: StepStatus;
  /** Forward attempts started. */
  attempts: number;
  /** Compensation attempts started. */
  undoAttempts: number;
  result?: unknown;
  error?: SagaError;
}

/** A saga's state. */
export interface SagaState {
  id: string;
  name: string;
  agent: SagaAgent;
  definition: SagaDefinition;
  status: SagaStatus;
  /** Epoch ms of `saga.started` (the overall timeout counts from here). */
  startedAt: number;
  updatedAt: number;
  /** Why the saga left the forward path (or failed, or needs attention). */
  reason?: string;
  steps: StepState[];
}

/** Statuses a saga can still move from without an operator. */
export const OPEN_STATUSES: readonly SagaStatus[] = ["running", "compensating"];

function errText(e: SagaError): string {
  return `${e.code}: ${e.message}`;
}

/**
 * Apply one record to the states (a new map entry for `saga.started`). Returns the changed
 * state, or null when the record names an unknown saga or step (ignored). Mutates `states`.
 */
export function applyRecord(states: Map<string, SagaState>, r: SagaRecord): SagaState | null {
  if (r.type === "saga.started") {
    const s: SagaState = {
      id: r.saga,
      name: r.definition.name,
      agent: r.agent,
      definition: r.definition,
      status: "running",
      startedAt: r.ts,
      updatedAt: r.ts,
      steps: r.definition.steps.map((d) => ({
        name: d.name,
        status: "pending",
        attempts: 0,
        undoAttempts: 0,
      })),
    };
    states.set(r.saga, s);
    return s;
  }
  const s = states.get(r.saga);
  if (!s) return null;
  s.updatedAt = r.ts;
  if ("step" in r) {
    const st = s.steps[r.step];
    if (!st) return null;
    switch (r.type) {
      case "step.started":
        st.status = "running";
        st.attempts = Math.max(st.attempts, r.attempt);
        break;
      case "step.succeeded":
        st.status = "succeeded";
        st.result = r.result;
        delete st.error;
        break;
      case "step.failed":
        st.status = "failed";
        st.error = r.error;
        if (r.final) {
          s.status = "compensating";
          s.reason = `step ${r.step} "${st.name}" failed: ${errText(r.error)}`;
        }
        break;
      case "compensation.started":
        st.status = "compensating";
        st.undoAttempts = Math.max(st.undoAttempts, r.attempt);
        break;
      case "compensation.succeeded":
        st.status = "compensated";
        break;
      case "compensation.failed":
        st.error = r.error;
        if (r.final) {
          st.status = "compensation_failed";
          s.status = "needs_attention";
          s.reason = `compensation of step ${r.step} "${st.name}" failed: ${errText(r.error)}`;
        }
        break;
    }
    return s;
  }
  switch (r.type) {
    case "saga.compensating":
      s.status = "compensating";
      s.reason = r.reason;
      break;
    case "saga.completed":
      s.status = "completed";
      break;
    case "saga.compensated":
      s.status = "compensated";
      break;
    case "saga.failed":
      s.status = "failed";
      s.reason = r.reason;
      break;
    case "saga.retry":
      if (s.status === "needs_attention") s.status = "compensating";
      break;
  }
  return s;
}

/** Replay journal records, in order, into saga states (keyed by saga id, in start order). */
export function replay(records: Iterable<SagaRecord>): Map<string, SagaState> {
  const states = new Map<string, SagaState>();
  for (const r of records) applyRecord(states, r);
  return states;
}

/** What the orchestrator should do next for a saga. */
export type SagaMove =
  | { kind: "do"; step: number }
  | { kind: "undo"; step: number }
  | { kind: "complete" }
  | { kind: "finish_compensation"; compensated: number }
  | { kind: "none" };

const UNDO_DUE: readonly StepStatus[] = ["succeeded", "compensating", "compensation_failed"];

/**
 * The next move: forward through the first step not yet succeeded (an in-flight step is run
 * again, with its idempotency key); backward through the last step that succeeded and is not
 * yet compensated; or the end of the saga.
 */
export function nextMove(s: SagaState): SagaMove {
  if (s.status === "running") {
    const i = s.steps.findIndex((st) => st.status !== "succeeded");
    return i === -1 ? { kind: "complete" } : { kind: "do", step: i };
  }
  if (s.status === "compensating") {
    for (let i = s.steps.length - 1; i >= 0; i--) {
      if (UNDO_DUE.includes(s.steps[i].status)) return { kind: "undo", step: i };
    }
    return {
      kind: "finish_compensation",
      compensated: s.steps.filter((st) => st.status === "compensated").length,
    };
  }
  return { kind: "none" };
}
