/** Helpers shared by the benchmark agents (they may import only their own code and the SDK). */

/** The parameters the bench wrote into the agent's workspace. */
export function params<T>(): T {
  return JSON.parse(Deno.readTextFileSync("params.json")) as T;
}

/** Percentile (0..1) of sorted values. */
export function pct(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Sort per-call latencies (µs) and print one JSON line with percentiles and ops/s. */
export function report(lat: Float64Array, secs: number, extra: Record<string, unknown> = {}) {
  lat.sort();
  console.log(JSON.stringify({
    n: lat.length,
    p50_us: pct(lat, 0.5),
    p99_us: pct(lat, 0.99),
    p999_us: pct(lat, 0.999),
    max_us: lat[lat.length - 1],
    ops_per_s: lat.length / secs,
    ...extra,
  }));
}
