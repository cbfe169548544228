/** Retry decisions and exponential backoff with jitter. Pure: randomness is passed in. */
import { ALWAYS_NON_RETRYABLE, type RetryPolicy } from "./schema.ts";

/** True when an error with `code` may be tried again under `policy`. */
export function isRetryable(policy: RetryPolicy, code: string): boolean {
  return !ALWAYS_NON_RETRYABLE.includes(code) && !(policy.nonRetryable ?? []).includes(code);
}

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed: "full jitter",
 * a uniform pick in [0, min(maxMs, baseMs * 2^(attempt-1))]. `random` returns [0, 1).
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(cap * Math.min(Math.max(random(), 0), 1));
}
