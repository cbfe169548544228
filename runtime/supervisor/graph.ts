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
 * The code digest is `sha256:` + the hex SHA-256 of the UTF-8 text made of one line
 * `<hex sha-256 of the file's bytes> <file URL>\n` per code module, sorted by file URL
 * (code-unit order); file URLs are `file://` URLs of the real paths.
 */
import { createHash } from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";

/** A graph too big to name file by file on a command line is refused (bundle it instead). */
export const MAX_GRAPH_FILES = 2000;
/** Bytes of file names one `--allow-read` flag may carry (Linux caps one argument at 128 KiB). */
export const MAX_GRAPH_NAME_BYTES = 96 * 1024;
/** Deadline for resolving a graph. */
export const GRAPH_TIMEOUT_MS = 60_000;

const InfoModule = z.looseObject({
  specifier: z.string(),
  kind: z.string().optional(),
  local: z.string().nullable().optional(),
  error: z.string().optional(),
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
   * The graph imports `node:fs`, `node:fs/promises` or an `npm:` package: the bootstrap
   * installs the compatible file refusals (node_fs_compat.ts) for it.
   */
  nodeFs: boolean;
  /** The `npm:` specifiers the graph imports (installed in the package store, not bundled). */
  npm: string[];
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
  /** Working directory and DENO_DIR for `deno info`. */
  cwd: string;
  denoDir: string;
  timeoutMs?: number;
}

/** Modules that make an agent Node-style code (see `ModuleGraph.nodeFs`). */
const NODE_FS = /^(node:fs(\/promises)?$|npm:)/;

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
  { stamps: Stamp[]; code: string[]; other: string[]; nodeFs: boolean; npm: string[] }
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
  if (hit && hit.stamps.every((s) => sameStamp(s, stampOf(s.path)))) {
    const { code, other, nodeFs, npm } = hit;
    return { code, other, digest: graphDigest(code), nodeFs, npm };
  }
  const startedAt = Date.now();
  const graph = await resolveFresh(entry, o);
  const stamps = [entry, ...graph.code, ...graph.other].map(stampOf);
  if (stamps.every((s) => s.mtime === null || s.mtime < startedAt - SETTLED_MS)) {
    if (GRAPHS.size >= GRAPH_CACHE_MAX) GRAPHS.delete(GRAPHS.keys().next().value!);
    const { code, other, nodeFs, npm } = graph;
    GRAPHS.set(key, { stamps, code, other, nodeFs, npm });
  }
  return graph;
}

async function resolveFresh(entry: string, o: GraphOptions): Promise<ModuleGraph> {
  const ctl = new AbortController();
  const timeout = o.timeoutMs ?? GRAPH_TIMEOUT_MS;
  const timer = setTimeout(() => ctl.abort(), timeout);
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(o.deno, {
      args: ["info", "--json", "--quiet", ...o.flags, entry],
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
  let info: z.infer<typeof Info>;
  try {
    info = Info.parse(JSON.parse(new TextDecoder().decode(out.stdout)));
  } catch {
    throw new Error("cannot resolve the module graph: deno info printed no graph");
  }
  const code = new Set<string>();
  const other = new Set<string>();
  const root = info.redirects?.[info.roots[0]] ?? info.roots[0];
  let entryReal: string | null = null;
  let entryWhy = "not in the graph";
  let nodeFs = false;
  const npm = new Set<string>();
  for (const m of info.modules) {
    if (NODE_FS.test(m.specifier)) nodeFs = true;
    if (m.specifier.startsWith("npm:")) npm.add(m.specifier);
    if (!m.specifier.startsWith("file:")) continue; // npm:, jsr:, https:, node: — never local
    let path: string;
    try {
      path = realOr(fileURLToPath(m.specifier));
    } catch {
      continue;
    }
    const isCode = m.kind === "esm" && !m.error &&
      (within(path, o.codeDir) || within(path, o.sdk));
    (isCode ? code : other).add(path);
    if (m.specifier === root) {
      entryReal = path;
      entryWhy = m.error
        ? firstLine(m.error)
        : m.kind !== "esm"
        ? "not a JavaScript or TypeScript module"
        : "outside its own directory";
    }
  }
  if (entryReal === null || !code.has(entryReal)) {
    throw new Error(`agent module ${entry} is not own code: ${entryWhy}`);
  }
  for (const p of code) other.delete(p);
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
  return { code: files, other: [...other].sort(), digest, nodeFs, npm: [...npm].sort() };
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
