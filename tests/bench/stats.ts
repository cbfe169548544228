/** Latency statistics and machine facts for benchmark reports. */

/** One benchmark result row (also the `--json` line format). */
export interface BenchRow {
  name: string;
  engine: string;
  rules?: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  ops_per_s: number;
  samples: number;
  [extra: string]: unknown;
}

/** Median cost of reading the clock twice, subtracted from per-call samples. */
export function timerOverheadUs(): number {
  const xs: number[] = [];
  for (let i = 0; i < 20000; i++) {
    const t0 = performance.now();
    xs.push(performance.now() - t0);
  }
  xs.sort((a, b) => a - b);
  return xs[xs.length >> 1] * 1000;
}

/** Percentile (0..1) of sorted values. */
export function pct(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/**
 * Time `fn(i)` per call for `samples` calls after `warmup` calls, and measure throughput
 * separately over `samples` back-to-back calls.
 */
export function measure(
  fn: (i: number) => unknown,
  samples: number,
  warmup: number,
  overheadUs: number,
): { p50: number; p99: number; p999: number; opsPerS: number } {
  let sink = 0;
  for (let i = 0; i < warmup; i++) if (fn(i)) sink++;
  const lat = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    if (fn(i)) sink++;
    lat[i] = Math.max(0, (performance.now() - t0) * 1000 - overheadUs);
  }
  lat.sort();
  const t0 = performance.now();
  for (let i = 0; i < samples; i++) if (fn(i)) sink++;
  const secs = (performance.now() - t0) / 1000;
  if (sink < 0) console.log(sink);
  return {
    p50: pct(lat, 0.5),
    p99: pct(lat, 0.99),
    p999: pct(lat, 0.999),
    opsPerS: samples / secs,
  };
}

/** A one-line description of this machine. */
export function machine(): string {
  let cpu = "unknown cpu";
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    cpu = /model name\s*:\s*(.*)/.exec(info)?.[1] ?? cpu;
  } catch { /* not Linux */ }
  let load = "";
  try {
    // The machine may be shared: its load at the start of the run says how far to trust it.
    load = `, load average ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`;
  } catch { /* no loadavg here */ }
  return `${cpu}, ${navigator.hardwareConcurrency} cores${load}, Deno ${Deno.version.deno}, V8 ${Deno.version.v8}`;
}

/** Format µs with sensible precision. */
export function us(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}
