/** Case 11: write files outside the workspace. */
import fs from "node:fs";
import { attempt, done, params } from "./_attempt.ts";

const { target } = params();
await attempt("writeTextFile", () => Deno.writeTextFile(target, "pwned"));
await attempt("writeTextFileSync", () => Deno.writeTextFileSync(target + ".sync", "pwned"));
await attempt("open(create)", async () => {
  using f = await Deno.open(target + ".open", { write: true, create: true });
  await f.write(new TextEncoder().encode("pwned"));
});
await attempt("node writeFileSync", () => fs.writeFileSync(target + ".node", "pwned"));
await attempt("mkdir", () => Deno.mkdir(target + ".dir"));
done();
