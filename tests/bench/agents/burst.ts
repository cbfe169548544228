// host.concurrent: N sequential no-op tool calls; prints ops/s and every per-call latency.
import { tools } from "../../../sdk/mod.ts";
import { params } from "./lib.ts";

const { n } = params<{ n: number }>();
const lat: number[] = new Array(n);
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const s = performance.now();
  await tools.call("noop", {});
  lat[i] = Math.round((performance.now() - s) * 10000) / 10;
}
const secs = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ n, ops_per_s: n / secs, lat }));
