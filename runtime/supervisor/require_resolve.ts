/**
 * Node's CommonJS file resolution, done by the host before an agent starts (issue 19).
 * `deno info` resolves a literal `require("./lib/y")` like an ES import (no extension search,
 * no directory index), so such a module is missing from the agent's graph and at run time
 * each candidate `require` stats (`lib/y`, `lib/y.js`, …, `lib/y/package.json`'s `main`,
 * `lib/y/index.js`) would be a broker check of a file or directory that is not own code. The
 * host resolves the request here as Node does; graph.ts adds the file it ends at to the graph
 * when it is own code, and the bootstrap's `require` goes straight to that file
 * (node_require_compat.ts), so no candidate and no directory is ever checked at run time.
 */
import { join, resolve } from "node:path";

/** The extensions Deno's `require` tries, in its order (`Object.keys(Module._extensions)`). */
export const REQUIRE_EXTENSIONS = [".js", ".cjs", ".mjs", ".wasm", ".json", ".node"];

/** What resolving one request found. */
export interface RequireResolution {
  /** The file the request ends at (as Node would load it), or null. */
  file: string | null;
  /** Every path looked at (for the graph cache: one appearing later changes the answer). */
  probed: string[];
}

/** One resolution: paths outside `root` (also through a symlink) are taken as absent. */
interface Walk {
  root: string;
  probed: string[];
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : root + "/");
}

function kind(path: string, w: Walk): "file" | "dir" | null {
  if (!inside(path, w.root)) return null;
  w.probed.push(path);
  try {
    const s = Deno.statSync(path);
    if (!inside(Deno.realPathSync(path), w.root)) return null; // never look past a symlink out
    return s.isFile ? "file" : s.isDirectory ? "dir" : null;
  } catch {
    return null;
  }
}

function withExtensions(base: string, w: Walk): string | null {
  for (const ext of REQUIRE_EXTENSIONS) {
    if (kind(base + ext, w) === "file") return base + ext;
  }
  return null;
}

function packageMain(dir: string, w: Walk): string | null {
  const pkg = join(dir, "package.json");
  if (kind(pkg, w) !== "file") return null;
  try {
    const main = JSON.parse(Deno.readTextFileSync(pkg))?.main;
    return typeof main === "string" && main !== "" ? main : null;
  } catch {
    return null;
  }
}

/**
 * Resolve the absolute request `abs` (a relative `require` made absolute against the
 * requiring module's directory; `trailingSlash` when it was written with one) the way Node's
 * `Module._findPath` does for a local path: the file itself, then with each extension, then
 * as a directory (its package.json `main`, with extensions and `/index`, then `index`).
 * Nothing outside `root` (a real directory: the agent's code tree) is looked at, not even
 * through a symlink: such a path counts as absent, so the host reads no file outside the tree
 * on the agent's behalf (a package.json there could otherwise answer for it).
 */
export function resolveRequire(
  abs: string,
  root: string,
  trailingSlash = false,
): RequireResolution {
  const w: Walk = { root, probed: [] };
  const done = (file: string | null): RequireResolution => ({ file, probed: w.probed });
  const at = kind(abs, w);
  if (!trailingSlash) {
    if (at === "file") return done(abs);
    const f = withExtensions(abs, w);
    if (f) return done(f);
  }
  if (at !== "dir") return done(null);
  const main = packageMain(abs, w);
  if (main !== null) {
    const m = resolve(abs, main);
    if (kind(m, w) === "file") return done(m);
    const f = withExtensions(m, w) ?? withExtensions(join(m, "index"), w);
    if (f) return done(f);
  }
  return done(withExtensions(join(abs, "index"), w));
}
