/** Allocate and fill 16 MiB typed arrays (outside the V8 heap) up to 2 GiB, then hold them. */
const keep: Uint8Array[] = [];
while (keep.length < 128) {
  const b = new Uint8Array(16 << 20);
  b.fill(1);
  keep.push(b);
  if (keep.length % 8 === 0) console.log(`allocated ${keep.length * 16} MiB`);
  await new Promise((r) => setTimeout(r, 10)); // the kill must not depend on a race
}
console.log("BUDGET-ESCAPED");
for (;;) { /* hold */ }
