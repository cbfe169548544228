/** Allocates and touches memory past any budget (outside V8's heap), 64 MiB at a time. */
const keep: Uint8Array[] = [];
for (let i = 0; i < 64; i++) {
  const b = new Uint8Array(64 << 20);
  for (let j = 0; j < b.length; j += 4096) b[j] = 1;
  keep.push(b);
  console.log(JSON.stringify({ step: "allocated", mib: (i + 1) * 64 }));
}
console.log(JSON.stringify({ step: "BUDGET-ESCAPED", ok: true }));
