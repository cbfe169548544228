/**
 * Hide disk use from a directory walk: write 4 MiB files, unlink each while keeping it open
 * (its blocks stay allocated until closed), up to 640 MiB.
 */
const chunk = new Uint8Array(4 << 20).fill(7);
const open: Deno.FsFile[] = [];
for (let i = 0; i < 160; i++) {
  const f = Deno.openSync(`hidden-${i}.bin`, { write: true, create: true });
  Deno.removeSync(`hidden-${i}.bin`);
  f.writeSync(chunk);
  open.push(f);
  if (i % 8 === 7) console.log(`hid ${(i + 1) * 4} MiB`);
  await new Promise((r) => setTimeout(r, 20));
}
console.log("BUDGET-ESCAPED");
await new Promise((r) => setTimeout(r, 60_000));
