// The broker's fast paths against the slow forms they replace: component-by-component path
// resolution under a fixed workspace (realPathUnder) against realPath on random trees of
// directories, files and hostile symlinks; the workspace-fixing rule on hostile write roots;
// the allow answer's text against JSON.stringify.
import { join } from "node:path";
import fc from "fast-check";
import { assert, assertEquals } from "../policy/asserts.ts";
import { fixesWorkspace, realPath, realPathUnder } from "../../runtime/broker/map.ts";
import { allowAnswer } from "../../runtime/broker/server.ts";

const NAMES = ["a", "b", "c", "d.txt"];
/** One node of a random tree under the workspace: a dir, a file or a symlink to a target. */
const node = fc.record({
  at: fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }),
  kind: fc.constantFrom("dir", "file", "link"),
  // Link targets: inside, outside (the workspace's parent, /etc), relative ups, itself, dangling.
  target: fc.constantFrom(
    ".",
    "..",
    "../..",
    "a",
    "a/b",
    "../outside",
    "/etc",
    "/",
    "missing",
    "d.txt",
    "a/../c",
    "WS",
    "WS/a",
  ),
});
const query = fc.array(fc.constantFrom(...NAMES, ".", "..", "missing", ""), {
  minLength: 1,
  maxLength: 6,
});

Deno.test("broker fast path: realPathUnder(workspace, p) equals realPath(p) on random trees", () => {
  const top = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-fastpath-" }));
  let n = 0;
  try {
    fc.assert(
      fc.property(
        fc.array(node, { maxLength: 12 }),
        fc.array(query, { minLength: 1, maxLength: 8 }),
        (nodes, queries) => {
          const ws = join(top, `t${n++}`, "ws");
          Deno.mkdirSync(ws, { recursive: true });
          Deno.mkdirSync(join(ws, "..", "outside"), { recursive: true });
          for (const x of nodes) {
            const p = join(ws, ...x.at);
            try {
              if (x.kind === "dir") Deno.mkdirSync(p, { recursive: true });
              else if (x.kind === "file") Deno.writeTextFileSync(p, "x");
              else Deno.symlinkSync(x.target.replace(/^WS/, ws), p);
            } catch { /* a parent is a file or a link, or p exists: the tree stays as it is */ }
          }
          for (const q of queries) {
            for (const p of [join(ws, ...q), `${ws}/${q.join("/")}`, join(ws, ...q) + "/"]) {
              assertEquals(realPathUnder(ws, p), realPath(p), `path ${p}`);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  } finally {
    Deno.removeSync(top, { recursive: true });
  }
});

Deno.test("broker fast path: the workspace stays fixed only when no write root covers its parent", () => {
  const top = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-fixed-" }));
  try {
    const ws = join(top, "state", "ws");
    Deno.mkdirSync(ws, { recursive: true });
    const cache = join(top, "state", "cache");
    Deno.mkdirSync(cache);
    Deno.symlinkSync(top, join(top, "alias")); // an ancestor under another name
    const fixed = (write: boolean | string[], writable = [cache]) =>
      fixesWorkspace(write, ws, writable);
    // Safe: nothing, the workspace itself (also spelled with a slash), a sibling, a subtree.
    assert(fixed(false));
    assert(fixed(["${workspace}"]));
    assert(fixed([ws, ws + "/"]));
    assert(fixed([join(ws, "sub"), "/nonexistent-root"]));
    // Hostile: everything, "/", the parent, an ancestor by another name, patterns that could
    // match an ancestor, own code (its roots are not known here), relative or odd roots.
    assertEquals(fixed(true), false);
    for (
      const r of [
        "/",
        "//",
        join(top, "state"),
        join(top, "state") + "/",
        top,
        join(top, "alias"),
        join(top, "alias", "state"),
        join(top, "st*"),
        join(top, "state", "w?"),
        "/*",
        "${code}",
        "state",
        "",
      ]
    ) assertEquals(fixed([r]), false, `write root ${JSON.stringify(r)}`);
    // The Deno cache (always writable) counts as a write root too.
    assertEquals(fixed(["${workspace}"], [join(top, "state")]), false);
  } finally {
    Deno.removeSync(top, { recursive: true });
  }
});

Deno.test("broker fast path: the allow answer is JSON.stringify's text of the same answer", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.nat(), fc.maxSafeNat()),
      fc.oneof(fc.nat(), fc.maxSafeNat()),
      (id, seq) => {
        const reason = `allowed (audit #${seq})`;
        assertEquals(allowAnswer(id, seq), JSON.stringify({ id, result: "allow", reason }) + "\n");
      },
    ),
    { numRuns: 5000 },
  );
});
