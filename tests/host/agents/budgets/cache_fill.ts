/** Fill the Cache API (stored in the agent's own deno_dir: no permission check) up to 640 MiB. */
const cache = await caches.open("fill");
const body = new Uint8Array(4 << 20).fill(7);
for (let i = 0; i < 160; i++) {
  await cache.put(new Request(`https://fill.invalid/${i}`), new Response(body));
  if (i % 8 === 7) console.log(`cached ${(i + 1) * 4} MiB`);
  await new Promise((r) => setTimeout(r, 20));
}
console.log("BUDGET-ESCAPED");
await new Promise((r) => setTimeout(r, 60_000));
