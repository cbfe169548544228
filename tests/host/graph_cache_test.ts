/**
 * The module-graph cache (runtime/supervisor/graph.ts): a graph is reused only while every file
 * it names is unchanged, so an edit that adds an import, or points the entry elsewhere, is seen
 * at the next start, and the digest always follows the files' bytes.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { join } from "node:path";
import { resolveGraph } from "../../runtime/supervisor/graph.ts";

const past = (s: number) => new Date(Date.now() - s * 1000);

Deno.test("graph cache: an edited module is resolved again, never served stale", async () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-graph-" }));
  try {
    const sdk = Deno.realPathSync(new URL("../../sdk/", import.meta.url).pathname);
    const entry = join(dir, "main.ts");
    const write = (f: string, text: string, ageS: number) => {
      Deno.writeTextFileSync(join(dir, f), text);
      Deno.utimeSync(join(dir, f), past(ageS), past(ageS));
    };
    write("a.ts", "export const a = 1;\n", 60);
    write("b.ts", "export const b = 2;\n", 60);
    write("main.ts", 'import { a } from "./a.ts";\nconsole.log(a);\n', 60);
    const o = {
      deno: Deno.execPath(),
      codeDir: dir,
      sdk,
      flags: ["--no-config", "--no-lock", "--no-remote", "--no-npm"],
      cwd: dir,
      denoDir: join(dir, ".deno"),
    };
    const g1 = await resolveGraph(entry, o);
    assertEquals(g1.code.map((p) => p.slice(dir.length + 1)), ["a.ts", "main.ts"]);
    const g2 = await resolveGraph(entry, o); // served from the cache: same answer
    assertEquals(g2, g1);
    // Same size, an old mtime: still a different file (mtime and inode stamps differ).
    write("main.ts", 'import { b } from "./b.ts";\nconsole.log(b);\n', 30);
    const g3 = await resolveGraph(entry, o);
    assertEquals(g3.code.map((p) => p.slice(dir.length + 1)), ["b.ts", "main.ts"]);
    assert(g3.digest !== g1.digest, "digest follows the edit");
    // A dependency's bytes changed: the digest follows even when its stamp is reused.
    write("b.ts", "export const b = 3;\n", 30);
    const g4 = await resolveGraph(entry, o);
    assert(g4.digest !== g3.digest, "digest follows the bytes");
    assert(g4.code.length === 2);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
