// sdk.authorize: N sequential tools.authorize calls (the adapters' worker mode), timed here.
import { tools } from "../../../sdk/mod.ts";
import { params, report } from "./lib.ts";

const { n, warmup } = params<{ n: number; warmup: number }>();
const args = { to: "a@example.com", subject: "hi" };
for (let i = 0; i < warmup; i++) await tools.authorize("send_email", args);
const lat = new Float64Array(n);
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const s = performance.now();
  await tools.authorize("send_email", args);
  lat[i] = (performance.now() - s) * 1000;
}
report(lat, (performance.now() - t0) / 1000);
