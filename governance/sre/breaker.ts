/**
 * Circuit breakers with resilience4j semantics, as a small pure state machine.
 *
 * - Sliding window: `COUNT_BASED` (the last N calls) or `TIME_BASED` (the calls of the last N
 *   seconds, aggregated in one bucket per epoch second).
 * - CLOSED → OPEN when, with at least `minimumNumberOfCalls` calls in the window, the failure
 *   rate or the slow-call rate reaches its threshold (`≥`, as resilience4j). A call is slow when
 *   its duration is strictly greater than `slowCallDurationThreshold`.
 * - OPEN denies at once (`tryAcquire` → `{ permitted: false, reason }`) and counts the denials;
 *   after `waitDurationInOpenState` the next look at the breaker moves it to HALF_OPEN.
 * - HALF_OPEN permits `permittedNumberOfCallsInHalfOpenState` trial calls and denies the rest;
 *   once all trials have reported, it closes (fresh window) if both rates are below their
 *   thresholds, else it reopens.
 *
 * Pure: no I/O, no clock. Every method takes `now` (epoch milliseconds).
 * @module
 */
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

interface Totals {
  calls: number;
  failed: number;
  slow: number;
}

interface Window {
  record(now: number, failed: boolean, slow: boolean): void;
  totals(now: number): Totals;
}

/** The last `size` calls, in a ring. */
class CountWindow implements Window {
  #ring: Uint8Array; // bit 0: failed, bit 1: slow
  #next = 0;
  #filled = 0;
  #t: Totals = { calls: 0, failed: 0, slow: 0 };
  constructor(size: number) {
    this.#ring = new Uint8Array(size);
  }
  record(_now: number, failed: boolean, slow: boolean): void {
    const size = this.#ring.length;
    if (this.#filled === size) {
      const old = this.#ring[this.#next];
      this.#t.calls--;
      if (old & 1) this.#t.failed--;
      if (old & 2) this.#t.slow--;
    } else this.#filled++;
    this.#ring[this.#next] = (failed ? 1 : 0) | (slow ? 2 : 0);
    this.#next = (this.#next + 1) % size;
    this.#t.calls++;
    if (failed) this.#t.failed++;
    if (slow) this.#t.slow++;
  }
  totals(): Totals {
    return { ...this.#t };
  }
}

/** The calls of the last `size` seconds, one bucket per epoch second. */
class TimeWindow implements Window {
  #buckets: { sec: number; calls: number; failed: number; slow: number }[];
  constructor(size: number) {
    this.#buckets = Array.from({ length: size }, () => ({ sec: -1, calls: 0, failed: 0, slow: 0 }));
  }
  record(now: number, failed: boolean, slow: boolean): void {
    const sec = Math.floor(now / 1000);
    const b = this.#buckets[
      ((sec % this.#buckets.length) + this.#buckets.length) %
      this.#buckets.length
    ];
    if (b.sec !== sec) Object.assign(b, { sec, calls: 0, failed: 0, slow: 0 });
    b.calls++;
    if (failed) b.failed++;
    if (slow) b.slow++;
  }
  totals(now: number): Totals {
    const sec = Math.floor(now / 1000);
    const t: Totals = { calls: 0, failed: 0, slow: 0 };
    for (const b of this.#buckets) {
      // A bucket counts while its second lies within (sec - size, sec].
      if (b.sec > sec - this.#buckets.length && b.sec <= sec) {
        t.calls += b.calls;
        t.failed += b.failed;
        t.slow += b.slow;
      }
    }
    return t;
  }
}

function rate(part: number, whole: number): number {
  return whole === 0 ? 0 : (part * 100) / whole;
}

function fmtPct(p: number): string {
  return `${Math.round(p * 10) / 10}%`;
}

/** One circuit breaker. */
export class CircuitBreaker {
  readonly name: string;
  readonly config: Readonly<BreakerConfig>;
  #onTransition?: (t: BreakerTransition) => void;
  #state: BreakerState = "CLOSED";
  #window: Window;
  #epoch = 0;
  #notPermitted = 0;
  #openedAt?: number;
  #nextAttemptAt?: number;
  #openReason?: string;
  // HALF_OPEN bookkeeping
  #trialPermits = 0;
  #trials: Totals = { calls: 0, failed: 0, slow: 0 };

  constructor(
    name: string,
    config: BreakerConfigInput = {},
    onTransition?: (t: BreakerTransition) => void,
  ) {
    this.name = name;
    this.config = Object.freeze(BreakerConfig.parse(config));
    this.#onTransition = onTransition;
    this.#window = this.#newWindow();
  }

  /** Calls needed before rates are evaluated (capped at the window size when COUNT_BASED). */
  get minimumNumberOfCalls(): number {
    const c = this.config;
    return c.slidingWindowType === "COUNT_BASED"
      ? Math.min(c.minimumNumberOfCalls, c.slidingWindowSize)
      : c.minimumNumberOfCalls;
  }

  /** The state at `now` (an expired OPEN turns HALF_OPEN). */
  state(now: number): BreakerState {
    this.#advance(now);
    return this.#state;
  }

  /** Ask to make a call. A permitted call must be reported with `onResult` (or `release`). */
  tryAcquire(now: number): Permission {
    this.#advance(now);
    if (this.#state === "CLOSED") return { permitted: true, state: "CLOSED", epoch: this.#epoch };
    if (this.#state === "OPEN") {
      this.#notPermitted++;
      return {
        permitted: false,
        state: "OPEN",
        reason: `circuit open for ${this.name}: ${this.#openReason}; retry after ${
          new Date(this.#nextAttemptAt!).toISOString()
        }`,
        retryAfter: this.#nextAttemptAt,
      };
    }
    const n = this.config.permittedNumberOfCallsInHalfOpenState;
    if (this.#trialPermits < n) {
      this.#trialPermits++;
      return { permitted: true, state: "HALF_OPEN", epoch: this.#epoch };
    }
    this.#notPermitted++;
    return {
      permitted: false,
      state: "HALF_OPEN",
      reason: `circuit half-open for ${this.name}: all ${n} trial call${
        n === 1 ? "" : "s"
      } already permitted; waiting for their results`,
    };
  }

  /** Give back a permission whose call was not made (HALF_OPEN: frees a trial slot). */
  release(now: number, epoch?: number): void {
    this.#advance(now);
    if (epoch !== undefined && epoch !== this.#epoch) return;
    if (this.#state === "HALF_OPEN" && this.#trialPermits > this.#trials.calls) {
      this.#trialPermits--;
    }
  }

  /** Record the outcome of a permitted call. */
  onResult(now: number, result: CallResult): void {
    this.#advance(now);
    if (result.epoch !== undefined && result.epoch !== this.#epoch) return;
    const failed = !result.success;
    const slow = result.durationMs > this.config.slowCallDurationThreshold;
    if (this.#state === "CLOSED") {
      this.#window.record(now, failed, slow);
      const t = this.#window.totals(now);
      if (t.calls < this.minimumNumberOfCalls) return;
      const why = this.#tripReason(t);
      if (why) this.#open(now, `${why} over ${this.#windowText(t.calls)}`, "CLOSED");
      return;
    }
    if (this.#state === "HALF_OPEN") {
      if (this.#trials.calls >= this.#trialPermits) return; // not a trial we permitted
      this.#trials.calls++;
      if (failed) this.#trials.failed++;
      if (slow) this.#trials.slow++;
      const n = this.config.permittedNumberOfCallsInHalfOpenState;
      if (this.#trials.calls < n) return;
      const why = this.#tripReason(this.#trials);
      if (why) {
        this.#open(now, `${why} over ${n} half-open trial call${n === 1 ? "" : "s"}`, "HALF_OPEN");
      } else {
        this.#transition(now, "CLOSED", `${n} trial call${n === 1 ? "" : "s"} below thresholds`);
        this.#openedAt = this.#nextAttemptAt = this.#openReason = undefined;
        this.#window = this.#newWindow();
      }
    }
    // OPEN: a late result of a call from an earlier period is ignored.
  }

  /** The breaker at `now`. */
  snapshot(now: number): BreakerSnapshot {
    this.#advance(now);
    const t = this.#state === "HALF_OPEN"
      ? this.#trials
      : this.#state === "CLOSED"
      ? this.#window.totals(now)
      : { calls: 0, failed: 0, slow: 0 };
    const s: BreakerSnapshot = {
      name: this.name,
      state: this.#state,
      failureRate: rate(t.failed, t.calls),
      slowCallRate: rate(t.slow, t.calls),
      calls: t.calls,
      failedCalls: t.failed,
      slowCalls: t.slow,
      notPermitted: this.#notPermitted,
    };
    if (this.#openedAt !== undefined) s.openedAt = this.#openedAt;
    if (this.#state === "OPEN") s.nextAttemptAt = this.#nextAttemptAt;
    if (this.#openReason !== undefined) s.openReason = this.#openReason;
    return s;
  }

  /** Force the breaker back to CLOSED with an empty window (an operator action). */
  reset(now: number): void {
    if (this.#state !== "CLOSED") this.#transition(now, "CLOSED", "reset");
    this.#openedAt = this.#nextAttemptAt = this.#openReason = undefined;
    this.#window = this.#newWindow();
  }

  #tripReason(t: Totals): string | undefined {
    const c = this.config;
    const fr = rate(t.failed, t.calls);
    if (fr >= c.failureRateThreshold) {
      return `failure rate ${fmtPct(fr)} ≥ ${fmtPct(c.failureRateThreshold)}`;
    }
    const sr = rate(t.slow, t.calls);
    if (sr >= c.slowCallRateThreshold) {
      return `slow-call rate ${fmtPct(sr)} ≥ ${
        fmtPct(c.slowCallRateThreshold)
      } (calls over ${c.slowCallDurationThreshold} ms)`;
    }
    return undefined;
  }

  #windowText(calls: number): string {
    const c = this.config;
    const s = calls === 1 ? "" : "s";
    return c.slidingWindowType === "COUNT_BASED"
      ? `the last ${calls} call${s}`
      : `${calls} call${s} in the last ${c.slidingWindowSize} s`;
  }

  #open(now: number, reason: string, from: BreakerState): void {
    this.#openedAt = now;
    this.#nextAttemptAt = now + this.config.waitDurationInOpenState;
    this.#openReason = reason;
    this.#transition(now, "OPEN", reason, from);
  }

  #advance(now: number): void {
    if (this.#state === "OPEN" && now >= this.#nextAttemptAt!) {
      this.#transition(this.#nextAttemptAt!, "HALF_OPEN", "wait duration in open state elapsed");
    }
  }

  #transition(at: number, to: BreakerState, reason: string, from = this.#state): void {
    this.#state = to;
    this.#epoch++;
    this.#trialPermits = 0;
    this.#trials = { calls: 0, failed: 0, slow: 0 };
    this.#onTransition?.({ name: this.name, from, to, at, reason });
  }

  #newWindow(): Window {
    const c = this.config;
    return c.slidingWindowType === "COUNT_BASED"
      ? new CountWindow(c.slidingWindowSize)
      : new TimeWindow(c.slidingWindowSize);
  }
}

/** Whether `key` matches `pattern`, where `*` matches any run of characters. */
export function matchesPattern(pattern: string, key: string): boolean {
  const re = new RegExp(
    "^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$",
  );
  return re.test(key);
}

/** The registry key of a tool's breaker. */
export function toolKey(tool: string): string {
  return `tool:${tool}`;
}

/** The registry key of an agent's breaker. */
export function agentKey(did: string): string {
  return `agent:${did}`;
}

/** Breakers keyed per tool (`tool:<name>`) and per agent (`agent:<did>`), made on first use. */
export class BreakerRegistry {
  readonly config: BreakerRegistryConfig;
  #breakers = new Map<string, CircuitBreaker>();
  #onTransition?: (t: BreakerTransition) => void;

  constructor(
    config: BreakerRegistryConfigInput = {},
    onTransition?: (t: BreakerTransition) => void,
  ) {
    this.config = BreakerRegistryConfig.parse(config);
    this.#onTransition = onTransition;
  }

  /** The configuration a key gets: defaults, then every matching override in order. */
  configFor(key: string): BreakerConfig {
    let merged: BreakerOverride = { ...this.config.defaults };
    for (const o of this.config.overrides) {
      if (matchesPattern(o.pattern, key)) merged = { ...merged, ...o.config };
    }
    return BreakerConfig.parse(merged);
  }

  /** The breaker of `key`, made on first use. */
  get(key: string): CircuitBreaker {
    let b = this.#breakers.get(key);
    if (!b) {
      b = new CircuitBreaker(key, this.configFor(key), this.#onTransition);
      this.#breakers.set(key, b);
    }
    return b;
  }

  /** Whether `key` already has a breaker. */
  has(key: string): boolean {
    return this.#breakers.has(key);
  }

  /** Keys with a breaker, sorted. */
  keys(): string[] {
    return [...this.#breakers.keys()].sort();
  }

  /** Snapshots of every breaker, sorted by name. */
  snapshots(now: number): BreakerSnapshot[] {
    return this.keys().map((k) => this.#breakers.get(k)!.snapshot(now));
  }
}
