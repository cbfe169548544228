/** Step errors, per-attempt timeouts and abortable sleeps for the saga orchestrator. */
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

/**
 * Run `work` with a signal aborted when `parent` aborts or after `ms`; rejects at that moment
 * even when the work ignores its signal.
 */
export function withTimeout<T>(
  parent: AbortSignal,
  ms: number | undefined,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (parent.aborted) return Promise.reject(parent.reason);
  const ctl = new AbortController();
  const onParent = () => ctl.abort(parent.reason);
  parent.addEventListener("abort", onParent, { once: true });
  const timer = ms === undefined ? undefined : setTimeout(
    () => ctl.abort(new SagaStepError("timeout", `timed out after ${ms} ms`)),
    ms,
  );
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(ctl.signal.reason);
    ctl.signal.addEventListener("abort", onAbort, { once: true });
    let p: Promise<T>;
    try {
      p = Promise.resolve(work(ctl.signal));
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(resolve, reject).finally(() => {
      ctl.signal.removeEventListener("abort", onAbort);
    });
  }).finally(() => {
    clearTimeout(timer);
    parent.removeEventListener("abort", onParent);
  });
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
