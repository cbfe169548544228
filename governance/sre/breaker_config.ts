/** Circuit breaker configuration (zod) and the shapes a breaker reports (see breaker.ts). */
import { z } from "zod";

/** The three states of a breaker. */
export type BreakerState = "CLOSED" | "OPEN" | "HALF_OPEN";

/** How the breaker aggregates recent calls. */
export const SlidingWindowType = z.enum(["COUNT_BASED", "TIME_BASED"]);
/** How the breaker aggregates recent calls. */
export type SlidingWindowType = z.infer<typeof SlidingWindowType>;

const pct = z.number().gt(0).max(100);
const ms = z.number().int().min(0).max(86_400_000);

/** Fields of a breaker configuration, without defaults (used for per-pattern overrides). */
const fields = {
  /** COUNT_BASED: window of the last N calls; TIME_BASED: of the last N seconds. */
  slidingWindowType: SlidingWindowType,
  /** N: calls (COUNT_BASED) or seconds (TIME_BASED). */
  slidingWindowSize: z.number().int().min(1).max(100_000),
  /** Failure rate (%) at or above which the breaker opens. */
  failureRateThreshold: pct,
  /** Slow-call rate (%) at or above which the breaker opens. */
  slowCallRateThreshold: pct,
  /** A call longer than this (ms) is slow. */
  slowCallDurationThreshold: ms,
  /** Calls needed in the window before rates are evaluated (capped at N when COUNT_BASED). */
  minimumNumberOfCalls: z.number().int().min(1).max(100_000),
  /** Time spent OPEN before trial calls are allowed (ms). */
  waitDurationInOpenState: ms,
  /** Trial calls permitted in HALF_OPEN. */
  permittedNumberOfCallsInHalfOpenState: z.number().int().min(1).max(10_000),
};

/** Breaker configuration (zod); every field defaults to resilience4j's default. */
export const BreakerConfig = z.strictObject({
  slidingWindowType: fields.slidingWindowType.default("COUNT_BASED"),
  slidingWindowSize: fields.slidingWindowSize.default(100),
  failureRateThreshold: fields.failureRateThreshold.default(50),
  slowCallRateThreshold: fields.slowCallRateThreshold.default(100),
  slowCallDurationThreshold: fields.slowCallDurationThreshold.default(60_000),
  minimumNumberOfCalls: fields.minimumNumberOfCalls.default(100),
  waitDurationInOpenState: fields.waitDurationInOpenState.default(60_000),
  permittedNumberOfCallsInHalfOpenState: fields.permittedNumberOfCallsInHalfOpenState.default(10),
});
/** Breaker configuration, defaults applied. */
export type BreakerConfig = z.infer<typeof BreakerConfig>;
/** Breaker configuration as written (any field may be left out). */
export type BreakerConfigInput = z.input<typeof BreakerConfig>;

/** A partial configuration, laid over the defaults. */
export const BreakerOverride = z.strictObject(fields).partial();
/** A partial configuration, laid over the defaults. */
export type BreakerOverride = z.infer<typeof BreakerOverride>;

/** The registry's configuration: defaults plus overrides per key pattern (`*` = any run). */
export const BreakerRegistryConfig = z.strictObject({
  defaults: BreakerOverride.default({}),
  /** Applied in order over the defaults, every matching one (so later ones win). */
  overrides: z.array(z.strictObject({ pattern: z.string().min(1), config: BreakerOverride }))
    .default([]),
});
/** The registry's configuration. */
export type BreakerRegistryConfig = z.infer<typeof BreakerRegistryConfig>;
/** The registry's configuration as written. */
export type BreakerRegistryConfigInput = z.input<typeof BreakerRegistryConfig>;

/** The answer of `tryAcquire`. */
export type Permission =
  | { permitted: true; state: BreakerState; epoch: number }
  | { permitted: false; state: BreakerState; reason: string; retryAfter?: number };

/** The outcome of a permitted call. */
export interface CallResult {
  durationMs: number;
  success: boolean;
  /** The `epoch` of the permission; a result from an earlier state period is ignored. */
  epoch?: number;
}

/** What a breaker looks like at a moment. */
export interface BreakerSnapshot {
  name: string;
  state: BreakerState;
  /** Failure rate (%) of the calls in the current window (0 with no calls). */
  failureRate: number;
  /** Slow-call rate (%) of the calls in the current window (0 with no calls). */
  slowCallRate: number;
  /** Calls in the current window (HALF_OPEN: trial calls reported so far). */
  calls: number;
  failedCalls: number;
  slowCalls: number;
  /** Calls denied over the breaker's lifetime. */
  notPermitted: number;
  /** When the breaker last opened (epoch ms), while OPEN or HALF_OPEN. */
  openedAt?: number;
  /** When OPEN ends (epoch ms), while OPEN. */
  nextAttemptAt?: number;
  /** Why the breaker last opened, while OPEN or HALF_OPEN. */
  openReason?: string;
}

/** A state change, for audit or metrics. */
export interface BreakerTransition {
  name: string;
  from: BreakerState;
  to: BreakerState;
  at: number;
  /** Why it opened (to OPEN) or what the trials gave (from HALF_OPEN). */
  reason: string;
}
