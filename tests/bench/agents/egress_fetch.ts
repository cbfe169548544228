// egress.fetch: N global fetches (through the egress proxy) of each URL, then N SDK http.fetch
// calls of the plain one; one JSON line per arm.
import { http } from "../../../sdk/mod.ts";
import { params, report } from "./lib.ts";

const p = params<{ https: string; http: string; n: number }>();
async function time(n: number, one: () => Promise<unknown>, arm: string) {
  await one(); // warm-up (a new tunnel, a leaf certificate)
  const lat = new Float64Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await one();
    lat[i] = (performance.now() - s) * 1000;
  }
  report(lat, (performance.now() - t0) / 1000, { arm });
}
const get = async (url: string) => {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
  await r.text();
};
await time(p.n, () => get(p.https), "proxied https");
await time(p.n, () => get(p.http), "proxied http");
await time(p.n, async () => {
  const r = await http.fetch(p.http);
  if (r.status !== 200) throw new Error(`sdk: ${r.status}`);
}, "sdk http.fetch http");
