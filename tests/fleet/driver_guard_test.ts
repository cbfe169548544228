/**
 * A postgres.js error thrown from a socket callback (no caller to catch it) must not end the
 * host and its agents: it becomes one warning line. Any other uncaught error still ends it.
 */
import { assertEquals } from "../policy/asserts.ts";

const CHILD = new URL("./driver_guard_child.ts", import.meta.url).pathname;

async function child(kind: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CHILD, kind],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("an uncaught driver error after a lost connection is one warning, not the end", async () => {
  const r = await child("driver");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout.includes("SURVIVED"), true);
  assertEquals(r.stderr.includes("warden: fleet database driver error"), true, r.stderr);
});

Deno.test("any other uncaught error still ends the process", async () => {
  const r = await child("other");
  assertEquals(r.code !== 0, true);
  assertEquals(r.stdout.includes("SURVIVED"), false);
});
