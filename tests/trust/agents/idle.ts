// Waits quietly until it is killed (or a minute passes).
console.log("idle");
await new Promise((r) => setTimeout(r, 60_000));
