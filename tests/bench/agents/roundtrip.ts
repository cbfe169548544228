// sdk.roundtrip: N sequential no-op tool calls, each timed in the agent.
import { tools } from "../../../sdk/mod.ts";
import { params, report } from "./lib.ts";

const { n, warmup } = params<{ n: number; warmup: number }>();
for (let i = 0; i < warmup; i++) await tools.call("noop", {});
const lat = new Float64Array(n);
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const s = performance.now();
  await tools.call("noop", {});
  lat[i] = (performance.now() - s) * 1000;
}
report(lat, (performance.now() - t0) / 1000);
