import { assertEquals } from "../policy/asserts.ts";
import { runDeno } from "./run.ts";

Deno.test("a bad flag is one clear line with the usage and exit 2, never a stack trace", async () => {
  for (const task of ["host", "run", "saga", "audit"]) {
    const r = await runDeno(["task", "-q", task, "--no-such-flag"]);
    assertEquals(r.code, 2, `${task}: ${r.stderr}`);
    if (!r.stderr.includes("--no-such-flag") || !r.stderr.includes("usage:")) {
      throw new Error(`${task}: ${r.stderr}`);
    }
    if (/\bat .*:\d+:\d+/.test(r.stderr)) throw new Error(`${task}: stack trace in ${r.stderr}`);
  }
  const extra = await runDeno(["task", "-q", "host", "stray"]);
  assertEquals(extra.code, 2, extra.stderr);
});
