/**
 * An agent's own code is exactly its module graph. Before an agent starts, the host resolves
 * the graph of its entry module with `deno info --json` (same resolution as the agent process:
 * no config, no lockfile, the process's import map, no remote or npm modules; for bundles the
 * configuration and lockfile the bundler uses), under a deadline, and splits the local files it
 * names:
 *
 * - **code**: JavaScript/TypeScript modules (`kind: "esm"`) that resolved without error and
 *   whose real path lies in the entry's directory tree or in the SDK — static imports and
 *   dynamic imports with literal specifiers alike. They are the agent's own code: exposed to
 *   its process file by file and hashed into the code digest.
 * - **other**: every other local file the graph names — data imports (`type: "json"`,
 *   `"text"`, `"bytes"`), modules that do not parse or do not exist, modules outside the entry's
 *   tree (also through symlinks). These are not own code: each is decided under policy.
 *
 * A literal relative `require` (or `import()`) whose target `deno info` cannot load as named
 * (`./lib/y` for `lib/y.js`, a directory with an index or a package.json `main`) is resolved
 * as Node's `require` would (require_resolve.ts); when it ends at a JavaScript module inside
 * the entry's tree, that module's own graph is resolved too and joins the code, and
 * `requires` maps the request to it (the bootstrap's `require` goes straight there). A
 * resolution that leaves the tree or ends at anything else adds nothing: refused as before.
 *
 * The code digest is `sha256:` + the hex SHA-256 of the UTF-8 text made of one line
 * `<hex sha-256 of the file's bytes> <file URL>\n` per code module, sorted by file URL
 * (code-unit order); file URLs are `file://` URLs of the real paths.
 */
import { createHash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";
import { resolveRequire } from "./require_resolve.ts";

/** A graph too big to name file by file on a command line is refused (bundle it instead). */
export const MAX_GRAPH_FILES = 2000;
/** Bytes of file names one `--allow-read` flag may carry (Linux caps one argument at 128 KiB). */
export const MAX_GRAPH_NAME_BYTES = 96 * 1024;
/** Deadline for resolving a graph. */
export const GRAPH_TIMEOUT_MS = 60_000;

const InfoDependency = z.looseObject({
  specifier: z.string().optional(),
  code: z.looseObject({ specifier: z.string().optional() }).optional(),
});
const InfoModule = z.looseObject({
  specifier: z.string(),
  kind: z.string().optional(),
  local: z.string().nullable().optional(),
  error: z.string().optional(),
  dependencies: z.array(InfoDependency).optional(),
});
const Info = z.looseObject({
  roots: z.array(z.string()),
  modules: z.array(InfoModule),
  redirects: z.record(z.string(), z.string()).optional(),
});

/** The resolved graph of one agent. */
export interface ModuleGraph {
  /** Real paths of the own-code modules, sorted by file URL. */
  code: string[];
  /** Local files the graph names that are not own code (real paths where they exist). */
  other: string[];
  /** See the module comment for the exact definition. */
  digest: string;
  /**
   * The graph imports `node:fs`, `node:fs/promises`, `node:module` (`createRequire`) or an
   * `npm:` package: the bootstrap installs the compatible file refusals (node_fs_compat.ts)
   * and own-file `require` (node_require_compat.ts) for it.
   */
  nodeFs: boolean;
  /** The `npm:` specifiers the graph imports (installed in the package store, not bundled). */
  npm: string[];
  /**
   * Relative requests resolved as Node's `require` resolves them: the absolute path a request
   * names (`/code/lib/y`) -> the own-code module it loads (`/code/lib/y.js`). Only requests
   * `deno info` could not load as named, and only to files in `code`.
   */
  requires: Record<string, string>;
  /**
   * The package.json closest to each own-code module of the entry's tree (regular files in
   * the tree, real paths): Deno reads them itself, with no permission check, to load a module
   * as CommonJS or ESM, so the kernel must let it; the agent's own reads of them stay the
   * broker's (not own code: refused unless a rule allows them).
   */
  manifests: string[];
}

/** How to resolve a graph. */
export interface GraphOptions {
  deno: string;
  /** The entry's directory (a real path): own code lives in this tree ... */
  codeDir: string;
  /** ... or in the SDK (a real path). */
  sdk: string;
  /** Resolution flags for `deno info` (config or import map, lockfile, remote, npm). */
  flags: string[];
  /**
   * The agent's workspace: a `require` resolution never adds a module there (what it loads
   * from its workspace is an `fs.read` of it, not own code).
   */
  workspace?: string;
  /** Working directory and DENO_DIR for `deno info`. */
  cwd: string;
  denoDir: string;
  timeoutMs?: number;
}

/** Modules reached only through `require` resolution (each a root of an extra graph). */
export const MAX_REQUIRE_ROOTS = 256;
/** Rounds of `require` resolution (one `deno info` each, for all of that round's modules). */
export const MAX_REQUIRE_ROUNDS = 16;

/** Modules that make an agent Node-style code (see `ModuleGraph.nodeFs`). */
const NODE_FS = /^(node:(fs(\/promises)?|module)$|npm:)/;

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : root + "/");
}

function realOr(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

function firstLine(text: string): string {
  // deno prints ANSI colour even with NO_COLOR in some paths: strip it.
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  return plain.split("\n").map((l) => l.trim()).find((l) => l && !/^warning/i.test(l)) ?? "";
}

/** The code digest of `files` (real paths), as defined in the module comment. */
export function graphDigest(files: string[]): string {
  const lines = files.map((f) => {
    const hash = createHash("sha256").update(Deno.readFileSync(f)).digest("hex");
    return { url: pathToFileURL(f).href, line: `${hash} ${pathToFileURL(f).href}\n` };
  });
  lines.sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  return `sha256:${createHash("sha256").update(lines.map((l) => l.line).join("")).digest("hex")}`;
}

/** What a file looked like when a graph was resolved (a missing file has `mtime` null). */
interface Stamp {
  path: string;
  mtime: number | null;
  size: number;
  ino: number | null;
}

function stampOf(path: string): Stamp {
  try {
    const s = Deno.statSync(path);
    return { path, mtime: s.mtime?.getTime() ?? -1, size: s.size, ino: s.ino };
  } catch {
    return { path, mtime: null, size: -1, ino: null };
  }
}

const sameStamp = (a: Stamp, b: Stamp) =>
  a.mtime === b.mtime && a.size === b.size && a.ino === b.ino;

/**
 * Resolved graphs, reused while none of the files they name has changed (`deno info` costs
 * ~50 ms per start; a stat per file costs microseconds). The digest is always recomputed from
 * the files' bytes. Files changed within the last seconds are not cached (mtime granularity).
 */
const GRAPHS = new Map<
  string,
  {
    stamps: Stamp[];
    graph: Omit<ModuleGraph, "digest">;
    /** Set when a require resolution reached the code tree: the answer depends on it then. */
    workspace?: string | null;
  }
>();
const GRAPH_CACHE_MAX = 256;
const SETTLED_MS = 2_000;

/** The cache key: what decides the resolution (flag values naming files count by content). */
function graphKey(entry: string, o: GraphOptions): string {
  const flags = o.flags.map((f) => {
    const m = /^(--[a-z-]+)=(\/.*)$/.exec(f);
    if (!m) return f;
    try {
      return `${m[1]}#${createHash("sha256").update(Deno.readFileSync(m[2])).digest("hex")}`;
    } catch {
      return f;
    }
  });
  return JSON.stringify([entry, o.codeDir, o.sdk, o.deno, flags]);
}

/**
 * Resolve and hash the module graph of `entry` (an absolute path). Throws one line naming the
 * problem: deno info failed or timed out, the entry is not own code, the graph is too big. A
 * graph resolved before is reused while every file it names (and the entry) is unchanged.
 */
export async function resolveGraph(entry: string, o: GraphOptions): Promise<ModuleGraph> {
  const key = graphKey(entry, o);
  const hit = GRAPHS.get(key);
  const sameWorkspace = hit?.workspace === undefined || hit.workspace === (o.workspace ?? null);
  if (hit && sameWorkspace && hit.stamps.every((s) => sameStamp(s, stampOf(s.path)))) {
    return { ...hit.graph, digest: graphDigest(hit.graph.code) };
  }
  const startedAt = Date.now();
  const { graph, probed, reached } = await resolveFresh(entry, o);
  // Paths require resolution looked at count too: one appearing later changes the answer.
  const paths = new Set([entry, ...graph.code, ...graph.other, ...probed, ...graph.manifests]);
  const stamps = [...paths].map(stampOf);
  if (stamps.every((s) => s.mtime === null || s.mtime < startedAt - SETTLED_MS)) {
    if (GRAPHS.size >= GRAPH_CACHE_MAX) GRAPHS.delete(GRAPHS.keys().next().value!);
    const { digest: _, ...rest } = graph;
    GRAPHS.set(key, {
      stamps,
      graph: rest,
      ...(reached ? { workspace: o.workspace ?? null } : {}),
    });
  }
  return graph;
}

/** Run `deno info --json` on `root`; throws one line when it fails or times out. */
async function runInfo(root: string, o: GraphOptions): Promise<z.infer<typeof Info>> {
  const ctl = new AbortController();
  const timeout = o.timeoutMs ?? GRAPH_TIMEOUT_MS;
  const timer = setTimeout(() => ctl.abort(), timeout);
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(o.deno, {
      args: ["info", "--json", "--quiet", ...o.flags, root],
      cwd: o.cwd,
      clearEnv: true,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", DENO_DIR: o.denoDir, HOME: o.denoDir },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: ctl.signal,
    }).output();
  } catch (e) {
    if (ctl.signal.aborted) {
      throw new Error(`resolving the module graph timed out after ${timeout} ms`);
    }
    throw new Error(`cannot resolve the module graph: ${e instanceof Error ? e.message : e}`);
  } finally {
    clearTimeout(timer);
  }
  if (ctl.signal.aborted) {
    throw new Error(`resolving the module graph timed out after ${timeout} ms`);
  }
  if (!out.success) {
    const why = firstLine(new TextDecoder().decode(out.stderr)) || `deno info exited ${out.code}`;
    throw new Error(`cannot resolve the module graph: ${why}`);
  }
  try {
    return Info.parse(JSON.parse(new TextDecoder().decode(out.stdout)));
  } catch {
    throw new Error("cannot resolve the module graph: deno info printed no graph");
  }
}

/** A relative request of an own-code module, to resolve as `require` would if need be. */
interface RequireCandidate {
  /** The path `deno info` resolved the specifier to (as an ES import: no search). */
  target: string;
  /** The absolute paths a `require` of it names at run time (module path as loaded, real). */
  keys: string[];
  slash: boolean;
}

/** The files of one or more `deno info` graphs, sorted into code and other. */
interface Absorbed {
  code: Set<string>;
  other: Set<string>;
  npm: Set<string>;
  nodeFs: boolean;
  candidates: RequireCandidate[];
}

/** Sort the modules of one `deno info` graph into `acc`; the real path of `root`'s module. */
function absorb(
  info: z.infer<typeof Info>,
  o: GraphOptions,
  acc: Absorbed,
): { rootReal: string | null; rootWhy: string } {
  const root = info.redirects?.[info.roots[0]] ?? info.roots[0];
  let rootReal: string | null = null;
  let rootWhy = "not in the graph";
  for (const m of info.modules) {
    if (NODE_FS.test(m.specifier)) acc.nodeFs = true;
    if (m.specifier.startsWith("npm:")) acc.npm.add(m.specifier);
    if (!m.specifier.startsWith("file:")) continue; // npm:, jsr:, https:, node: — never local
    let path: string;
    try {
      path = realOr(fileURLToPath(m.specifier));
    } catch {
      continue;
    }
    const isCode = m.kind === "esm" && !m.error &&
      (within(path, o.codeDir) || within(path, o.sdk));
    (isCode ? acc.code : acc.other).add(path);
    if (isCode) {
      for (const d of m.dependencies ?? []) {
        const to = d.code?.specifier;
        const spec = d.specifier ?? "";
        if (!to?.startsWith("file:") || !/^\.\.?(\/|$)/.test(spec)) continue;
        let target: string;
        try {
          target = fileURLToPath(to);
        } catch {
          continue;
        }
        const keys = [...new Set([target, resolve(dirname(path), spec)])];
        acc.candidates.push({ target, keys, slash: spec.endsWith("/") });
      }
    }
    if (m.specifier === root) {
      rootReal = path;
      rootWhy = m.error
        ? firstLine(m.error)
        : m.kind !== "esm"
        ? "not a JavaScript or TypeScript module"
        : "outside its own directory";
    }
  }
  return { rootReal, rootWhy };
}

/** JavaScript and TypeScript files (what a `require` resolution may add to the graph). */
const SCRIPT = /\.(c|m)?(j|t)sx?$/;

/**
 * Resolve as Node's `require` the candidates `deno info` could not load as named; add the
 * own-code modules they end at (and their graphs) to `acc`. Returns the request map and every
 * path looked at.
 */
async function resolveRequires(
  o: GraphOptions,
  acc: Absorbed,
): Promise<{ requires: Record<string, string>; probed: string[]; reached: boolean }> {
  const requires: Record<string, string> = {};
  const probed: string[] = [];
  let reached = false;
  const rooted = new Set<string>();
  // Round by round: the modules one round adds name the next round's candidates.
  for (let round = 0; acc.candidates.length > 0 && round < MAX_REQUIRE_ROUNDS; round++) {
    const pending: { keys: string[]; file: string }[] = [];
    const roots: string[] = [];
    for (const c of acc.candidates.splice(0)) {
      if (acc.code.has(realOr(c.target))) continue; // loads as named: nothing to map
      const r = resolveRequire(c.target, o.codeDir, c.slash);
      probed.push(...r.probed);
      if (r.file === null) continue;
      const file = realOr(r.file);
      // Only a module of the entry's tree that deno info did not already refuse as code.
      if (!within(file, o.codeDir) || !SCRIPT.test(file) || acc.other.has(file)) continue;
      reached = true;
      if (o.workspace !== undefined && within(file, o.workspace)) continue;
      if (!acc.code.has(file) && !rooted.has(file)) {
        if (rooted.size >= MAX_REQUIRE_ROOTS) continue;
        rooted.add(file);
        roots.push(file);
      }
      pending.push({ keys: c.keys, file });
    }
    if (roots.length > 0) await absorbRoots(roots, o, acc);
    for (const p of pending) {
      if (acc.code.has(p.file)) { for (const k of p.keys) requires[k] = p.file; }
    }
  }
  return { requires, probed, reached };
}

/**
 * Add the graphs of `roots` to `acc`: one `deno info` of a module in `o.denoDir` that imports
 * them all (removed again, and never counted as a file of the graph); when that fails, one
 * per root. A root that cannot be resolved adds nothing (its requests stay refused at run time).
 */
async function absorbRoots(roots: string[], o: GraphOptions, acc: Absorbed): Promise<void> {
  if (roots.length > 1) {
    const batch = join(o.denoDir, `warden-require-roots-${crypto.randomUUID()}.mjs`);
    const text = roots.map((f) => `import ${JSON.stringify(pathToFileURL(f).href)};\n`).join("");
    try {
      Deno.mkdirSync(o.denoDir, { recursive: true });
      Deno.writeTextFileSync(batch, text, { mode: 0o600 });
      const info = await runInfo(batch, o);
      absorb(info, o, acc);
      const real = realOr(batch);
      acc.code.delete(real);
      acc.other.delete(real);
      return;
    } catch {
      /* one by one below */
    } finally {
      try {
        Deno.removeSync(batch);
      } catch { /* not written */ }
    }
  }
  for (const root of roots) {
    try {
      absorb(await runInfo(root, o), o, acc);
    } catch { /* not resolvable */ }
  }
}

async function resolveFresh(
  entry: string,
  o: GraphOptions,
): Promise<{ graph: ModuleGraph; probed: string[]; reached: boolean }> {
  const info = await runInfo(entry, o);
  const acc: Absorbed = {
    code: new Set(),
    other: new Set(),
    npm: new Set(),
    nodeFs: false,
    candidates: [],
  };
  const { rootReal: entryReal, rootWhy: entryWhy } = absorb(info, o, acc);
  if (entryReal === null || !acc.code.has(entryReal)) {
    throw new Error(`agent module ${entry} is not own code: ${entryWhy}`);
  }
  const { requires, probed, reached } = await resolveRequires(o, acc);
  const { code, other, nodeFs, npm } = acc;
  for (const p of code) other.delete(p);
  // A request mapped to the module it loads is that module, not a missing file or directory.
  for (const k of Object.keys(requires)) other.delete(realOr(k));
  const files = [...code].sort((a, b) => {
    const ua = pathToFileURL(a).href, ub = pathToFileURL(b).href;
    return ua < ub ? -1 : ua > ub ? 1 : 0;
  });
  const comma = files.find((f) => f.includes(","));
  if (comma) {
    // Deno's --allow-read separates paths with commas: such a name would widen the flag.
    throw new Error(`module ${comma} has a comma in its path, which a permission flag cannot name`);
  }
  const names = files.reduce((n, f) => n + f.length + 1, 0);
  if (files.length > MAX_GRAPH_FILES || names > MAX_GRAPH_NAME_BYTES) {
    throw new Error(
      `the module graph of ${entry} is too big to expose file by file (${files.length} ` +
        `modules, ${names} bytes of names; limits ${MAX_GRAPH_FILES} and ${MAX_GRAPH_NAME_BYTES}):` +
        ` start it with bundle: true`,
    );
  }
  const digest = graphDigest(files);
  const manifests = closestManifests(files, o.codeDir, probed);
  return {
    graph: {
      manifests,
      code: files,
      other: [...other].sort(),
      digest,
      nodeFs,
      npm: [...npm].sort(),
      requires,
    },
    probed,
    reached,
  };
}

/**
 * The package.json closest to each of `files` inside `codeDir` (see `ModuleGraph.manifests`):
 * only a regular file (not a symlink) with no comma in its name; every path looked at is added
 * to `probed`.
 */
function closestManifests(files: string[], codeDir: string, probed: string[]): string[] {
  const found = new Set<string>();
  const seen = new Map<string, string | null>();
  const lookUp = (dir: string): string | null => {
    if (seen.has(dir)) return seen.get(dir)!;
    const p = join(dir, "package.json");
    probed.push(p);
    let at: string | null = null;
    try {
      if (Deno.lstatSync(p).isFile && !p.includes(",")) at = p;
    } catch { /* none here */ }
    if (at === null && dir !== codeDir && within(dirname(dir), codeDir)) at = lookUp(dirname(dir));
    seen.set(dir, at);
    return at;
  };
  for (const f of files) {
    if (!within(f, codeDir)) continue;
    const m = lookUp(dirname(f));
    if (m !== null) found.add(m);
  }
  return [...found].sort();
}

/** Is `resource` (a file URL or an absolute path) one of `files` (real paths)? */
export function isOwnCode(files: ReadonlySet<string> | undefined, resource: string): boolean {
  if (!files || files.size === 0) return false;
  if (resource.startsWith("file:")) {
    try {
      return files.has(fileURLToPath(resource));
    } catch {
      return false;
    }
  }
  return files.has(resource);
}
