// Waits quietly until it is killed (cheap on CPU: used where a test only needs a live agent).
console.log("sleeping");
await new Promise((r) => setTimeout(r, 10 * 60_000));
