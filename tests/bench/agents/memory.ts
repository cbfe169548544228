// memory.*: N timed puts of new keys, N timed gets of loaded keys, and P timed prefix lists
// (limit 100) in the shared namespace "bench", through the SDK.
import { memory } from "../../../sdk/mod.ts";
import { params, report } from "./lib.ts";

const { n, lists, loaded } = params<{ n: number; lists: number; loaded: number }>();
const namespace = "bench";
const key = (i: number) => `k${String(i).padStart(7, "0")}`;
for (let i = 0; i < 200; i++) await memory.put(`warm${i}`, { i }, { namespace });
const time = async (count: number, f: (i: number) => Promise<unknown>, name: string) => {
  const lat = new Float64Array(count);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const s = performance.now();
    await f(i);
    lat[i] = (performance.now() - s) * 1000;
  }
  report(lat, (performance.now() - t0) / 1000, { case: name });
};
await time(n, (i) => memory.put(`new/${key(i)}`, { text: `note ${i}`, i }, { namespace }), "put");
// Gets of keys spread over the loaded entries (a multiplicative walk, no Math.random).
await time(n, async (i) => {
  const got = await memory.get(key((i * 7919) % loaded), { namespace });
  if (!got) throw new Error(`missing ${key((i * 7919) % loaded)}`);
}, "get");
await time(lists, async (i) => {
  const r = await memory.list({ namespace, prefix: key((i * 104729) % loaded).slice(0, 6) });
  if (r.length === 0) throw new Error("empty prefix list");
}, "list_prefix");
