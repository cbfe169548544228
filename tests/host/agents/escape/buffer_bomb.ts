/** Case 19: allocate and fill 64 MiB ArrayBuffers (outside the V8 heap). */
console.log("allocating");
const keep: Uint8Array[] = [];
// Stop at 1.5 GiB and hold it: the memory budget must act long before.
while (keep.length < 24) {
  const b = new Uint8Array(64 << 20);
  b.fill(1);
  keep.push(b);
}
for (;;) { /* hold */ }
