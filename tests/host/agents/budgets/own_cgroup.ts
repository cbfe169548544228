/** Says so as its first line of code, then waits for the test to look at its cgroups. */
console.log("AGENT-CODE-RUNNING");
await new Promise((r) => setTimeout(r, 10_000));
