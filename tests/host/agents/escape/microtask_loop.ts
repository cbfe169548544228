/** Case 17: starve the event loop with an endless microtask chain. */
console.log("looping");
const f = (): Promise<void> => Promise.resolve().then(f);
f();
