// broker.check: N Deno.statSync calls on a workspace file, each a permission check.
import { params, report } from "./lib.ts";

const { n, warmup } = params<{ n: number; warmup: number }>();
for (let i = 0; i < warmup; i++) Deno.statSync("data.txt");
const lat = new Float64Array(n);
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const s = performance.now();
  Deno.statSync("data.txt");
  lat[i] = (performance.now() - s) * 1000;
}
report(lat, (performance.now() - t0) / 1000);
