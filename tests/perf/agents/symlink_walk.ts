/**
 * The broker's component walk under a fixed workspace (realPathUnder) meets the operator's
 * symlinks: links in the workspace that lead out of it, at every depth the walk covers and
 * beyond, read by relative and absolute names, and the ways an agent might make or move one.
 * Every read of the outside secret must be refused; the decoys (real files) must be read.
 */
// The escape agents' report format (tests/host/agents/escape/_attempt.ts; own code must lie in
// the entry's directory, so it is written out here).
async function attempt(step: string, fn: () => unknown): Promise<void> {
  let line: Record<string, unknown>;
  try {
    line = { step, ok: true, value: String(await fn()).slice(0, 2000) };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    line = { step, ok: false, error: err.name, message: err.message.slice(0, 500) };
  }
  console.log("ESCAPE-ATTEMPT " + JSON.stringify(line));
}
const done = () => console.log("ESCAPE-DONE");
const params = <T>() => JSON.parse(Deno.readTextFileSync("params.json")) as T;

const { ws, decoy } = params<{ ws: string; decoy: string }>();
const read = (p: string) => () => Deno.readTextFileSync(p);

await attempt("decoy", read("sub/decoy.txt")); // ok: a real file two components down
for (
  const p of [
    "lnk", // a file link at the first component
    "dlnk/s", // a directory link, then the file
    "sub/lnk", // a link one directory down
    "sub/dlnk/s",
    "sub/a/b/dlnk/s", // deeper than the walk goes: realPath alone
    "sub/../dlnk/s",
    "./dlnk/./s",
    `${ws}/dlnk/s`, // absolute
    "sub/hop/s", // a link to a link to the outside
  ]
) await attempt(`read ${p}`, read(p));
// An agent cannot make or move a link into a way out.
await attempt("symlink", () => Deno.symlinkSync("..", "mine"));
await attempt("rename link", () => Deno.renameSync("dlnk", "moved"));
// Moving a real directory within the workspace is allowed (and the walk sees the new tree).
await attempt("rename dir and back", () => {
  Deno.renameSync("sub", "gone");
  Deno.renameSync("gone", "sub");
  return "moved";
});
await attempt("decoy again", () => {
  const got = Deno.readTextFileSync("sub/decoy.txt");
  if (got !== decoy) throw new Error(`got ${got}`);
  return got;
});
done();
