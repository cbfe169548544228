/** Case 1: read a file outside the workspace with Deno's file APIs. */
import { attempt, done, params } from "./_attempt.ts";

const { secret } = params();
await attempt("readTextFile", () => Deno.readTextFile(secret));
await attempt("readTextFileSync", () => Deno.readTextFileSync(secret));
await attempt("open+read", async () => {
  using f = await Deno.open(secret);
  const buf = new Uint8Array(4096);
  const n = await f.read(buf);
  return new TextDecoder().decode(buf.subarray(0, n ?? 0));
});
await attempt(
  "readFile(file URL)",
  async () => new TextDecoder().decode(await Deno.readFile(new URL(`file://${secret}`))),
);
done();
