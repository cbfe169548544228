/** Case 10: load libc with Deno.dlopen and node's process.dlopen. */
import process from "node:process";
import { attempt, done } from "./_attempt.ts";

const LIBC = "/lib/x86_64-linux-gnu/libc.so.6";
await attempt("Deno.dlopen", () => {
  const lib = Deno.dlopen(LIBC, { getpid: { parameters: [], result: "i32" } });
  return `getpid=${lib.symbols.getpid()}`;
});
await attempt("process.dlopen", () => {
  const m = { exports: {} };
  // deno-lint-ignore no-explicit-any
  (process as any).dlopen(m, LIBC);
  return "loaded";
});
done();
