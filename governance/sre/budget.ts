/**
 * Error-budget math (Google SRE Workbook) and a bounded, bucketed event store. Pure: the time
 * of every event and every query is passed in.
 */
import { budgetOf, type Slo, type SloScope } from "./slo.ts";

/** Round away float noise (12 significant digits) so 1 bad in 100 at 99% is exactly 1. */
function clean(x: number): number {
  return Number(x.toPrecision(12));
}

/** Error budget of a window: how much of the allowed badness has been spent. */
export interface Budget {
  target: number;
  /** bad fraction / (1 - target); 1 = exactly exhausted, > 1 = overspent. */
  consumed: number;
  /** 1 - consumed (negative when overspent). */
  remaining: number;
}

/** Good and total event counts. */
export interface Counts {
  good: number;
  total: number;
}

/** Budget for `good` good events out of `total` at `target`. No events = nothing consumed. */
export function errorBudget(counts: Counts, target: number): Budget {
  const consumed = burnRate(counts, target);
  return { target, consumed, remaining: clean(1 - consumed) };
}

/**
 * Burn rate: bad fraction / (1 - target). 1 spends the budget exactly over the SLO window;
 * 14.4 spends 2% of a 30-day budget in one hour. No events = 0.
 */
export function burnRate(counts: Counts, target: number): number {
  if (counts.total <= 0) return 0;
  const bad = counts.total - counts.good;
  return clean(bad / counts.total / budgetOf(target));
}

/** One measured event as the host reports it. Fields not relevant to an SLO are ignored. */
export interface Observation {
  /** Event time, ms (any epoch, as long as queries use the same one). */
  at: number;
  agent?: string;
  tool?: string;
  /** Pre-classified outcome: applies to every matching SLO (of `kind`, when given). */
  good?: boolean;
  /** Restrict to SLOs of this kind. */
  kind?: Slo["kind"];
  /** Operation succeeded (success SLOs). */
  ok?: boolean;
  /** Operation latency, ms (latency SLOs). */
  latencyMs?: number;
  /** Policy decision was allow (compliance SLOs). */
  allowed?: boolean;
}

/** Does an SLO's scope cover this event? An empty scope (host) covers everything. */
export function scopeMatches(scope: SloScope, obs: { agent?: string; tool?: string }): boolean {
  if (scope.agent !== undefined && scope.agent !== obs.agent) return false;
  if (scope.tool !== undefined && scope.tool !== obs.tool) return false;
  return true;
}

/** Is this observation good for this SLO? undefined = it does not count for the SLO. */
export function classify(slo: Slo, obs: Observation): boolean | undefined {
  if (obs.kind !== undefined && obs.kind !== slo.kind) return undefined;
  if (!scopeMatches(slo.scope, obs)) return undefined;
  if (obs.good !== undefined) return obs.good;
  switch (slo.kind) {
    case "success":
      return obs.ok;
    case "latency":
      if (obs.latencyMs === undefined || !Number.isFinite(obs.latencyMs)) return undefined;
      return obs.latencyMs <= (slo.thresholdMs ?? Infinity);
    case "compliance":
      return obs.allowed;
  }
}

/** Default bucket size: one minute. */
export const DEFAULT_BUCKET_MS = 60_000;
/** Most buckets one series may keep (memory bound); 30 days of 1-minute buckets fit. */
export const MAX_BUCKETS = 1_000_000;

/**
 * Good/total counts of one series in fixed time buckets, keeping only the last `horizonMs`.
 * A window query sums the `ceil(window / bucket)` buckets ending with the bucket of `now`
 * (the current bucket is partial), so no event older than the window is counted.
 */
export class BucketSeries {
  readonly bucketMs: number;
  readonly slots: number;
  #buckets = new Map<number, { good: number; total: number }>();
  /** Newest bucket index seen (from an event or a query). */
  #head = -Infinity;

  constructor(horizonMs: number, bucketMs = DEFAULT_BUCKET_MS) {
    if (!(bucketMs > 0) || !Number.isFinite(bucketMs)) {
      throw new RangeError("bucketMs must be a positive number");
    }
    if (!(horizonMs > 0) || !Number.isFinite(horizonMs)) {
      throw new RangeError("horizonMs must be a positive number");
    }
    this.bucketMs = bucketMs;
    this.slots = Math.ceil(horizonMs / bucketMs);
    if (this.slots > MAX_BUCKETS) {
      throw new RangeError(
        `horizon ${horizonMs}ms needs ${this.slots} buckets of ${bucketMs}ms (max ${MAX_BUCKETS})`,
      );
    }
  }

  /** Number of buckets currently held (bounded by `slots`). */
  get size(): number {
    return this.#buckets.size;
  }

  #advance(idx: number): void {
    if (idx <= this.#head) return;
    this.#head = idx;
    const oldest = idx - this.slots;
    for (const k of this.#buckets.keys()) if (k <= oldest) this.#buckets.delete(k);
  }

  /** Count one event. Returns false (and drops it) when it is older than the horizon. */
  add(at: number, good: boolean): boolean {
    if (!Number.isFinite(at)) return false;
    const idx = Math.floor(at / this.bucketMs);
    this.#advance(idx);
    if (idx <= this.#head - this.slots) return false;
    let b = this.#buckets.get(idx);
    if (!b) {
      b = { good: 0, total: 0 };
      this.#buckets.set(idx, b);
    }
    b.total++;
    if (good) b.good++;
    return true;
  }

  /** Forget buckets that fell out of the horizon at `now`. */
  expire(now: number): void {
    this.#advance(Math.floor(now / this.bucketMs));
  }

  /** Counts over the `windowMs` ending at `now` (events after `now` are not counted). */
  counts(now: number, windowMs: number): Counts {
    const hi = Math.floor(now / this.bucketMs);
    const lo = hi - Math.max(1, Math.ceil(windowMs / this.bucketMs));
    let good = 0;
    let total = 0;
    for (const [k, b] of this.#buckets) {
      if (k > lo && k <= hi) {
        good += b.good;
        total += b.total;
      }
    }
    return { good, total };
  }
}

/** Longest window an SLO ever looks at: its budget window or its longest alert window. */
export function horizonOf(slo: Slo): number {
  return Math.max(slo.windowMs, ...slo.alerts.map((r) => r.longMs));
}

/** Options for `SloStore`. */
export interface StoreOptions {
  /** Bucket size, ms (default 60 000; scale it down with the windows in tests). */
  bucketMs?: number;
}

/** In-memory measurements for a set of SLOs: one bucketed series per SLO. */
export class SloStore {
  readonly slos: readonly Slo[];
  #series = new Map<string, BucketSeries>();

  constructor(slos: readonly Slo[], options: StoreOptions = {}) {
    this.slos = slos;
    for (const slo of slos) {
      if (this.#series.has(slo.name)) throw new Error(`duplicate SLO name "${slo.name}"`);
      this.#series.set(slo.name, new BucketSeries(horizonOf(slo), options.bucketMs));
    }
  }

  /** Record one observation into every SLO it matches; returns the names it counted for. */
  record(obs: Observation): string[] {
    const hit: string[] = [];
    for (const slo of this.slos) {
      const good = classify(slo, obs);
      if (good === undefined) continue;
      if (this.#series.get(slo.name)!.add(obs.at, good)) hit.push(slo.name);
    }
    return hit;
  }

  /** The bucketed series of one SLO. */
  series(name: string): BucketSeries {
    const s = this.#series.get(name);
    if (!s) throw new Error(`unknown SLO "${name}"`);
    return s;
  }

  /** Counts of one SLO over a window ending at `now`. */
  counts(name: string, now: number, windowMs: number): Counts {
    return this.series(name).counts(now, windowMs);
  }

  /** Error budget of one SLO over its own window at `now`. */
  budget(name: string, now: number): Budget {
    const slo = this.slos.find((s) => s.name === name);
    if (!slo) throw new Error(`unknown SLO "${name}"`);
    return errorBudget(this.counts(name, now, slo.windowMs), slo.target);
  }

  /** Drop expired buckets of every SLO at `now`. */
  expire(now: number): void {
    for (const s of this.#series.values()) s.expire(now);
  }
}
