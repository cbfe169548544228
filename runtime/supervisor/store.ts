/**
 * The package store: an `npm:` agent or MCP server is installed once, not bundled, into a
 * read-only directory of its own — every file its package publishes (its `package.json`,
 * `docs/`, data files next to its modules), with its own dependency versions resolved from its
 * own `package.json` (never the project's) in Node's hoisted layout, so an undeclared dependency
 * resolves as it does under Node, and no install scripts run. One directory per
 * `name@version` and tarball integrity: `<store>/<name>@<version>-<integrity digest>`, reused
 * by every later start without the network. The agent process loads it with Deno's "manual"
 * node_modules mode (`--cached-only --no-remote`), reading it under the kernel rules (the whole
 * tree read-only) and the broker (the built-in rule `warden-package-store`).
 * @module
 */
import { dirname, extname, join } from "node:path";
import { z } from "zod";
import { sha256Hex } from "../../governance/audit/sha256.ts";
import { graphDigest } from "./graph.ts";
import { wardenHome } from "../state.ts";

/** One installed package. */
export interface StoredPackage {
  name: string;
  version: string;
  /** The registry's tarball integrity (`sha512-…`). */
  integrity: string;
  /** The store directory (a real path): the agent's code tree. */
  root: string;
  /** The module to run: the package's bin, else its main entry (or the subpath asked). */
  entry: string;
  /** `sha256:` of the store's lockfile: every dependency's version and integrity. */
  digest: string;
  /**
   * A local Node program run in place (`localPackage`), not installed from the registry: its
   * own package directory is its store tree, its entry may be CommonJS outside node_modules.
   */
  local?: boolean;
}

/** How to install. */
export interface StoreOptions {
  /** The store root (created 0700). */
  dir: string;
  deno: string;
  timeoutMs?: number;
}

const SPEC =
  /^npm:((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*)@(\d+\.\d+\.\d+(?:-[\w.-]+)?)(\/[\w./@-]+)?$/i;

/** `npm:name@1.2.3[/sub]` parts, or an Error naming what is wrong (an exact version is needed). */
export function parseNpmSpec(spec: string): { name: string; version: string; sub?: string } {
  const m = SPEC.exec(spec);
  if (!m) {
    throw new Error(
      `${spec}: expected npm:<package>@<exact version>[/<file>] (pin the version: the store ` +
        `installs exactly one)`,
    );
  }
  if (m[3]?.split("/").includes("..")) throw new Error(`${spec}: ".." in the file path`);
  return { name: m[1], version: m[2], ...(m[3] ? { sub: m[3].slice(1) } : {}) };
}

const Index = z.strictObject({ dir: z.string(), integrity: z.string(), entry: z.string() });
const Lock = z.object({
  npm: z.record(z.string(), z.object({ integrity: z.string().optional() }).passthrough()),
});

const key = (name: string, version: string) => `${name.replace("/", "+")}@${version}`;

/** Install `spec` into the store, or find it there; throws one line on failure. */
export async function installPackage(spec: string, o: StoreOptions): Promise<StoredPackage> {
  const { name, version, sub } = parseNpmSpec(spec);
  Deno.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const indexPath = join(o.dir, `${key(name, version)}.json`);
  const found = readIndex(indexPath);
  if (found) return described(name, version, found, sub);
  const tmp = join(o.dir, `.tmp-${crypto.randomUUID()}`);
  Deno.mkdirSync(tmp, { mode: 0o700 });
  try {
    Deno.writeTextFileSync(
      join(tmp, "package.json"),
      JSON.stringify({ private: true, dependencies: { [name]: version } }, null, 2) + "\n",
    );
    await install(tmp, o, spec);
    const lock = Lock.parse(JSON.parse(Deno.readTextFileSync(join(tmp, "deno.lock"))));
    const own = Object.entries(lock.npm).find(([k]) =>
      k === `${name}@${version}` || k.startsWith(`${name}@${version}_`)
    );
    const integrity = own?.[1].integrity;
    if (!integrity) throw new Error(`${spec}: the registry gave no integrity for the package`);
    const dir = join(o.dir, `${key(name, version)}-${sha256Hex(integrity).slice(0, 16)}`);
    const entry = packageEntry(join(tmp, "node_modules", name), name).slice(tmp.length + 1);
    settle(tmp, dir);
    const rec = { dir, integrity, entry };
    const part = `${indexPath}.${crypto.randomUUID()}.tmp`;
    Deno.writeTextFileSync(part, JSON.stringify(rec) + "\n", { mode: 0o600 });
    Deno.renameSync(part, indexPath);
    return described(name, version, rec, sub);
  } catch (e) {
    if (exists(tmp)) removeTree(tmp);
    throw e instanceof Error && e.message.startsWith(spec) ? e : new Error(
      `${spec}: cannot install into the package store: ${e instanceof Error ? e.message : e}`,
    );
  }
}

/** A local agent's `npm:` imports, installed together in the store. */
export interface StoredDependencies {
  /** The store directory (a real path): node_modules, package.json, deno.json, deno.lock. */
  root: string;
  /** The Deno configuration the agent runs with ("manual" node_modules, its import map). */
  config: string;
  /** `sha256:` of the directory's lockfile. */
  digest: string;
}

/**
 * Install the `npm:` packages a local agent module imports (exact versions, each at the version
 * it names, with its own dependencies in Node's hoisted layout, no scripts), or find them in the
 * store: one read-only directory per set of packages and import map, holding the configuration
 * the agent process runs with (its node_modules in "manual" mode, `imports` as given: the SDK's).
 */
export async function installDependencies(
  specs: string[],
  imports: Record<string, string>,
  o: StoreOptions,
): Promise<StoredDependencies> {
  const deps: Record<string, string> = {};
  for (const spec of specs) {
    // Only the package's own part is installed: npm:name@1.2.3/sub is npm:name@1.2.3 (and an
    // import map's directory form npm:/name@1.2.3/sub the same).
    const { name, version } = parseNpmSpec(
      spec.replace(/^npm:\//, "npm:").replace(/^(npm:(?:@[^/@]+\/)?[^/@]+@[^/]+)\/.*$/, "$1"),
    );
    if (deps[name] && deps[name] !== version) {
      throw new Error(`npm:${name}: imported at two versions (${deps[name]}, ${version})`);
    }
    deps[name] = version;
  }
  const sorted = Object.fromEntries(Object.entries(deps).sort(([a], [b]) => a < b ? -1 : 1));
  const what = Object.entries(sorted).map(([n, v]) => `npm:${n}@${v}`).join(", ");
  const id = sha256Hex(JSON.stringify({ sorted, imports })).slice(0, 16);
  Deno.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const dir = join(o.dir, `deps-${id}`);
  const done = (): StoredDependencies => {
    const root = Deno.realPathSync(dir);
    const lock = Deno.readTextFileSync(join(root, "deno.lock"));
    return { root, config: join(root, "deno.json"), digest: `sha256:${sha256Hex(lock)}` };
  };
  if (exists(join(dir, "deno.json")) && exists(join(dir, "deno.lock"))) return done();
  const tmp = join(o.dir, `.tmp-${crypto.randomUUID()}`);
  Deno.mkdirSync(tmp, { mode: 0o700 });
  try {
    Deno.writeTextFileSync(
      join(tmp, "package.json"),
      JSON.stringify({ private: true, dependencies: sorted }, null, 2) + "\n",
    );
    await install(tmp, o, what);
    // Written after the install (which would otherwise read it).
    Deno.writeTextFileSync(
      join(tmp, "deno.json"),
      JSON.stringify({ nodeModulesDir: "manual", lock: false, imports }) + "\n",
    );
    settle(tmp, dir);
    return done();
  } catch (e) {
    if (exists(tmp)) removeTree(tmp);
    throw e instanceof Error && e.message.startsWith(what) ? e : new Error(
      `${what}: cannot install into the package store: ${e instanceof Error ? e.message : e}`,
    );
  }
}

/** Lockfiles a Node package may carry (part of a local package's code digest). */
const LOCKFILES = [
  "package-lock.json",
  "npm-shrinkwrap.json",
  "yarn.lock",
  "pnpm-lock.yaml",
  "bun.lock",
  "deno.lock",
];
const JS_ENTRY = new Set([".js", ".cjs", ".mjs"]);
const TS_ENTRY = new Set([".ts", ".mts", ".cts"]);

/**
 * A local Node program (`node ./x/dist/index.js`, a local MCP server): a module whose nearest
 * configuration above it is a `package.json` (no `deno.json` beside it), and which is
 * JavaScript or has a `node_modules` directory beside that `package.json`. It runs in place,
 * not bundled: its package directory (the real path) is its store tree — read-only to it, its
 * own files (`package.json`, data next to its modules) and its own `node_modules` (its own
 * dependency versions, never Warden's), CommonJS as Node runs it (sloppy mode). The code
 * digest is `graphDigest` of the entry, the `package.json` and the lockfiles present. Null
 * when the module is not such a program (it is then the module graph's own code).
 */
export function localPackage(
  entry: string,
  o: {
    /** Trees the package may not contain besides the user's home and Warden's state. */
    protect?: string[];
  } = {},
): StoredPackage | null {
  const ext = extname(entry);
  if (!JS_ENTRY.has(ext) && !TS_ENTRY.has(ext)) return null;
  let real: string;
  try {
    real = Deno.realPathSync(entry);
  } catch {
    return null;
  }
  for (let dir = dirname(real);; dir = dirname(dir)) {
    if (exists(join(dir, "deno.json")) || exists(join(dir, "deno.jsonc"))) return null;
    const manifest = join(dir, "package.json");
    if (exists(manifest)) {
      if (!JS_ENTRY.has(ext) && !exists(join(dir, "node_modules"))) return null;
      let m: { name?: unknown; version?: unknown } = {};
      try {
        m = JSON.parse(Deno.readTextFileSync(manifest));
      } catch (e) {
        throw new Error(`${manifest}: not JSON: ${e instanceof Error ? e.message : e}`);
      }
      // Attack: a stray package.json in a home directory (or at /) would make the whole home
      // — keys, the keystore — the program's readable code tree. Such a root is refused.
      const guarded = [...protectedTrees(), ...(o.protect ?? []).map(realOr)]
        .find((p) => inside(p, dir));
      if (guarded !== undefined) {
        throw new Error(
          `${manifest}: its package directory ${dir} holds ${guarded}, which the program would ` +
            `read as its own code: give the program a package directory of its own`,
        );
      }
      const files = [real, manifest, ...LOCKFILES.map((l) => join(dir, l)).filter(exists)];
      return {
        name: typeof m.name === "string" && m.name ? m.name : dir.split("/").pop() || "local",
        version: typeof m.version === "string" ? m.version : "0.0.0",
        integrity: "local",
        root: dir,
        entry: real,
        digest: graphDigest(files),
        local: true,
      };
    }
    if (dir === dirname(dir)) return null;
  }
}

/** Trees a local package directory may not contain: the user's home, Warden's state. */
function protectedTrees(): string[] {
  const out = [wardenHome()];
  const home = Deno.env.get("HOME");
  if (home && home !== "/") out.push(home);
  return out.map(realOr);
}

function realOr(p: string): string {
  try {
    return Deno.realPathSync(p);
  } catch {
    return p;
  }
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root === "/" ? "/" : root + "/");
}

function described(
  name: string,
  version: string,
  rec: z.infer<typeof Index>,
  sub: string | undefined,
): StoredPackage {
  const root = Deno.realPathSync(rec.dir);
  const entry = sub ? join(root, "node_modules", name, sub) : join(root, rec.entry);
  if (!exists(entry)) throw new Error(`npm:${name}@${version}: no file ${entry} in the package`);
  const lock = Deno.readTextFileSync(join(root, "deno.lock"));
  return {
    name,
    version,
    integrity: rec.integrity,
    root,
    entry,
    digest: `sha256:${sha256Hex(lock)}`,
  };
}

/** Make the installed `tmp` read-only and move it to `dir` (or keep one another start put there). */
function settle(tmp: string, dir: string): void {
  readOnly(tmp);
  try {
    Deno.renameSync(tmp, dir);
  } catch (e) {
    // Another start installed it meanwhile: use that one.
    if (!(e instanceof Deno.errors.AlreadyExists) && !exists(dir)) throw e;
    removeTree(tmp);
  }
}

function readIndex(path: string): z.infer<typeof Index> | null {
  try {
    const rec = Index.parse(JSON.parse(Deno.readTextFileSync(path)));
    // An index naming a directory outside the store (or climbing out of it) is not ours.
    const store = Deno.realPathSync(dirname(path));
    const dir = Deno.realPathSync(rec.dir);
    if (dirname(dir) !== store || rec.entry.split("/").includes("..")) return null;
    return exists(join(rec.dir, "deno.lock")) ? rec : null;
  } catch {
    return null; // absent or damaged: install again
  }
}

async function install(dir: string, o: StoreOptions, spec: string): Promise<void> {
  const ctl = new AbortController();
  const ms = o.timeoutMs ?? 300_000;
  const timer = setTimeout(() => ctl.abort(), ms);
  try {
    const out = await new Deno.Command(o.deno, {
      // No lifecycle scripts run (Deno runs none without --allow-scripts).
      args: ["install", "--quiet", "--node-modules-linker", "hoisted"],
      cwd: dir,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: ctl.signal,
    }).output();
    if (!out.success) {
      const text = new TextDecoder().decode(out.stderr); // NO_COLOR: plain text
      const line = text.split("\n").map((l) => l.trim()).find((l) => l) ?? `exit ${out.code}`;
      throw new Error(`${spec}: deno install failed: ${line}`);
    }
  } catch (e) {
    if (ctl.signal.aborted) throw new Error(`${spec}: deno install timed out after ${ms} ms`);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

const Manifest = z.object({
  bin: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
  main: z.string().optional(),
  exports: z.unknown().optional(),
}).passthrough();

/** The file a package runs as: its bin (the one named like the package, or the only one), else its main. */
export function packageEntry(pkgDir: string, name: string): string {
  const m = Manifest.parse(JSON.parse(Deno.readTextFileSync(join(pkgDir, "package.json"))));
  const base = name.split("/").pop()!;
  let rel: string | undefined;
  if (typeof m.bin === "string") rel = m.bin;
  else if (m.bin) {
    const bins = Object.entries(m.bin);
    rel = (bins.find(([k]) => k === base) ?? (bins.length === 1 ? bins[0] : undefined))?.[1];
    if (!rel) {
      throw new Error(
        `${name} has several programs (${bins.map(([k]) => k).join(", ")}): name one as ` +
          `npm:${name}@<version>/<file>`,
      );
    }
  } else rel = exportsDot(m.exports) ?? m.main ?? "index.js";
  const entry = join(pkgDir, rel);
  if (!entry.startsWith(pkgDir + "/")) throw new Error(`${name}: its entry leaves the package`);
  if (!exists(entry)) throw new Error(`${name}: its entry ${rel} is not in the package`);
  return entry;
}

function exportsDot(x: unknown): string | undefined {
  const dot = typeof x === "string" ? x : (x as Record<string, unknown> | undefined)?.["."];
  if (typeof dot === "string") return dot;
  if (dot && typeof dot === "object") {
    const d = dot as Record<string, unknown>;
    for (const k of ["import", "node", "default", "require"]) {
      if (typeof d[k] === "string") return d[k] as string;
    }
  }
  return undefined;
}

function exists(p: string): boolean {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Make a tree read-only (files 0444 or 0555, directories 0555). */
function readOnly(dir: string): void {
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isSymlink) continue;
    if (e.isDirectory) readOnly(p);
    else Deno.chmodSync(p, (Deno.statSync(p).mode! & 0o111) ? 0o555 : 0o444);
  }
  Deno.chmodSync(dir, 0o555);
}

function removeTree(dir: string): void {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // read-only directories: make them writable first
    for (const e of Deno.readDirSync(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory && !e.isSymlink) {
        Deno.chmodSync(p, 0o755);
        removeTree(p);
      }
    }
    Deno.chmodSync(dir, 0o755);
    Deno.removeSync(dir, { recursive: true });
  }
}
