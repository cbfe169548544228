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
 * Pure: no I/O, no clock. Every method takes `now` (epoch milliseconds). The configuration and
 * the shapes a breaker reports are in breaker_config.ts, the sliding windows in breaker_window.ts.
 * @module
 */
import {
  BreakerConfig,
  type BreakerConfigInput,
  type BreakerOverride,
  BreakerRegistryConfig,
  type BreakerRegistryConfigInput,
  type BreakerSnapshot,
  type BreakerState,
  type BreakerTransition,
  type CallResult,
  type Permission,
} from "./breaker_config.ts";
import { CountWindow, TimeWindow, type Totals, type Window } from "./breaker_window.ts";

export * from "./breaker_config.ts";

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
