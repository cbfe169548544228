/**
 * Issue 16 class 2: Deno's `<TMP>` placeholder. makeTempDir/makeTempFile without `dir` send
 * `write <TMP>`; the host must decide that on the agent's own temp directory (never as the
 * relative path `<workspace>/<TMP>`). Other placeholders Deno might send are refused.
 */
import { attempt, done } from "./_attempt.ts";

await attempt("makeTempDir", () => Deno.makeTempDirSync({ prefix: "t-" }));
await attempt("makeTempFile", async () => {
  const f = await Deno.makeTempFile({ suffix: ".txt" });
  await Deno.writeTextFile(f, "scratch");
  return f;
});
await attempt("write <CWD>", () => {
  Deno.writeTextFileSync("<CWD>", "x");
  return "wrote <CWD>";
});
done();
