/** Step errors and abortable sleeps for the saga orchestrator (deadlines: the ToolRunner). */
import type { SagaError } from "../../governance/saga/mod.ts";

/** A failure with a code (`denied`, `timeout`, `saga_timeout`, or a tool's own). */
export class SagaStepError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "SagaStepError";
  }
}

/** The journaled form of anything thrown: its string `code` when it has one, else `error`. */
export function toSagaError(e: unknown): SagaError {
  if (e instanceof DOMException && e.name === "TimeoutError") {
    return { code: "timeout", message: e.message };
  }
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return { code: typeof code === "string" && code ? code : "error", message: e.message };
  }
  return { code: "error", message: String(e) };
}

/** Sleep `ms`, cut short (resolving) when `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
