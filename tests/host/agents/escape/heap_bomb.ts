/** Case 18: grow the V8 heap without bound. */
console.log("growing");
const keep: string[] = [];
for (let i = 0;; i++) keep.push("x".repeat(1024) + i);
