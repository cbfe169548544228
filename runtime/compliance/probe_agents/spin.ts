// Compliance kill-switch probe: announce, then spin forever in a busy loop.
console.log("spinning");
// deno-lint-ignore no-empty
while (true) {}
