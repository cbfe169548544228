/**
 * Fill the workspace with 4 MiB files (each below any per-file cap), up to 640 MiB. `big`
 * in Deno.args writes one growing file instead.
 */
const chunk = new Uint8Array(4 << 20).fill(7);
const big = Deno.args.includes("big");
let f: Deno.FsFile | null = big ? Deno.openSync("big.bin", { write: true, create: true }) : null;
for (let i = 0; i < 160; i++) {
  if (f) f.writeSync(chunk);
  else Deno.writeFileSync(`fill-${i}.bin`, chunk);
  if (i % 8 === 7) console.log(`wrote ${(i + 1) * 4} MiB`);
  await new Promise((r) => setTimeout(r, 20));
}
f?.close();
f = null;
console.log("BUDGET-ESCAPED");
await new Promise((r) => setTimeout(r, 60_000));
