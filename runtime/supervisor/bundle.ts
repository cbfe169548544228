/**
 * Bundle an agent's module graph into one file before it starts. Agent processes run with
 * `--no-npm --no-remote --cached-only`, so an agent (or an MCP server) that imports npm
 * packages — an agent framework, the MCP SDK — is bundled first: `deno bundle` resolves the
 * packages from the configuration's lockfile and installed node_modules, and the sandboxed
 * process then loads one local file whose every import is still decided by the broker.
 * `@warden/sdk` stays external (the process's import map points it at the SDK); a second copy
 * of the SDK inside the bundle shares the one channel (see sdk/channel.ts).
 *
 * The bundler reads what the agent's imports name, with the host's rights: unconfined, a
 * static `import secret from "./secrets.json" with { type: "json" }` would be inlined into the
 * bundle. So the host first resolves the entry's module graph (same configuration and lockfile
 * as the bundler, see graph.ts) and decides every local file in it through the governor, as
 * the agent, audited: the graph's own-code modules are allowed as own code; data imports and
 * every other local file are decided by the policy (deny by default), and one refusal refuses
 * the bundle with a line naming the file. The bundler then runs under the kernel sandbox
 * (Landlock), able to read only the files so decided, the SDK, the configuration, its lockfile
 * and node_modules (npm packages pinned by the lockfile: trusted dependencies), and the Deno
 * cache; without the kernel sandbox, bundling is refused.
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SYSTEM_READ_ONLY } from "./spawn.ts";
import { type ModuleGraph, resolveGraph } from "./graph.ts";
import { localPackage } from "./store.ts";

/** Where the project's own configuration (and lockfile) lives. */
export const PROJECT_CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const SDK_DIR = new URL("../../sdk/", import.meta.url).pathname.replace(/\/$/, "");

/** The nearest deno.json / deno.jsonc above `file`, else the project's. */
export function configFor(file: string): string {
  let dir = dirname(resolve(file));
  while (true) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      const p = join(dir, name);
      try {
        if (Deno.statSync(p).isFile) return p;
      } catch { /* not here */ }
    }
    const up = dirname(dir);
    if (up === dir) return PROJECT_CONFIG;
    dir = up;
  }
}

/**
 * The bare names the configuration nearest to `file` (bundle.ts `configFor`) maps to exact
 * `npm:` packages (`"zod": "npm:zod@4.6.7"`, `"pkg/": "npm:/pkg@1.2.3/"`): a local module run
 * unbundled resolves them in its import map, and its process loads them installed in the
 * package store (own_code.ts). Other mappings (files, URLs, unpinned ranges) are left out.
 */
export function configNpmImports(file: string): Record<string, string> {
  let imports: Record<string, unknown> = {};
  try {
    imports = JSON.parse(Deno.readTextFileSync(configFor(file))).imports ?? {};
  } catch { /* jsonc or unreadable: none */ }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(imports)) {
    if (typeof v !== "string" || k.startsWith(".") || k.includes(":")) continue;
    if (/^npm:\/?(@[^/@]+\/)?[^/@]+@\d+\.\d+\.\d+[\w.+-]*(\/.*)?$/.test(v)) out[k] = v;
  }
  // Deno maps `name/…` subpaths of a bare `name: npm:name@v` entry implicitly; an import map
  // does not, so `ai/test` beside `ai` gets its own entry (unless the config wrote one).
  for (const [k, v] of Object.entries(out)) {
    const m = /^npm:\/?((?:@[^/@]+\/)?[^/@]+@[^/]+)$/.exec(v);
    if (m && !k.endsWith("/") && !(`${k}/` in out)) out[`${k}/`] = `npm:/${m[1]}/`;
  }
  return out;
}

/**
 * An unversioned `npm:` entry takes the version the configuration pins (its import map), so
 * that the lockfile decides what runs: `npm:@scope/pkg/sub` -> `npm:@scope/pkg@1.2.3/sub`.
 */
export function pinned(entry: string, config: string): string {
  const m = /^npm:((?:@[^/@]+\/)?[^/@]+)(\/.*)?$/.exec(entry);
  if (!m) return entry;
  let imports: Record<string, unknown> = {};
  try {
    imports = JSON.parse(Deno.readTextFileSync(config)).imports ?? {};
  } catch { /* jsonc or unreadable: leave the entry as written */ }
  const mapped = imports[m[1]];
  if (typeof mapped !== "string" || !mapped.startsWith(`npm:${m[1]}@`)) return entry;
  return mapped + (m[2] ?? "");
}

/** How to bundle. */
export interface BundleOptions {
  /** The Landlock launcher (required: the bundler never runs unconfined). */
  launcher: string | null;
  /** Why there is no launcher, for the refusal. */
  why?: string;
  deno?: string;
  config?: string;
  /**
   * Decide, as the agent and audited, one local file the bundler would read: `action` is
   * `import` (a file URL) for files in the entry's directory tree or the SDK, else `fs.read` (a
   * path); `graph` is the source graph, whose code modules are the agent's own code here.
   */
  decide: (
    ask: { action: string; resource: string },
    graph: ModuleGraph & { codeDir: string },
  ) => { effect: string; reason: string };
  /** Deadline for resolving the graph. */
  graphTimeoutMs?: number;
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root + "/");
}

let denoDir: Promise<string> | undefined;

/**
 * The Deno cache the bundler reads, and a trusted warm-up that fetches the bundler's own
 * esbuild binary into it (the confined bundler then finds it there).
 */
function prepare(deno: string): Promise<string> {
  return denoDir ??= (async () => {
    const info = await new Deno.Command(deno, { args: ["info", "--json"], stdout: "piped" })
      .output();
    const dir = JSON.parse(new TextDecoder().decode(info.stdout)).denoDir as string;
    const tmp = await Deno.makeTempDir({ prefix: "warden-bundle-warmup-" });
    try {
      await Deno.writeTextFile(join(tmp, "w.ts"), "export {};\n");
      await new Deno.Command(deno, {
        args: ["bundle", "--quiet", "--no-config", `--output=${join(tmp, "w.js")}`, "w.ts"],
        cwd: tmp,
        stdout: "null",
        stderr: "null",
      }).output();
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
    return dir;
  })();
}

function existing(paths: string[]): string[] {
  return paths.filter((p) => {
    try {
      Deno.statSync(p);
      return true;
    } catch {
      return false;
    }
  });
}

/** Bundle `entry` (a module path or an `npm:` specifier) to `out`; throws with deno's message. */
export async function bundleModule(
  entry: string,
  out: string,
  opts: BundleOptions,
): Promise<string> {
  if (!opts.launcher) {
    throw new Error(
      `bundling needs the kernel sandbox to confine the bundler (${opts.why ?? "unavailable"})`,
    );
  }
  const deno = opts.deno ?? Deno.execPath();
  const isFile = !/^(npm|jsr|https?):/.test(entry);
  const config = opts.config ?? (isFile ? configFor(entry) : PROJECT_CONFIG);
  const root = dirname(config);
  Deno.mkdirSync(dirname(out), { recursive: true });
  if (!isFile) {
    const exact = pinned(entry, config);
    if (exact === entry && !/^npm:(@[^/@]+\/)?[^/@]+@/.test(entry)) {
      throw new Error(
        `${entry} is not pinned in ${config}: add it first (deno add ${entry}), so that the ` +
          `lockfile decides what runs`,
      );
    }
    entry = exact;
  }
  const cache = await prepare(deno);
  const decided: string[] = [];
  if (isFile) {
    const file = Deno.realPathSync(resolve(entry));
    // A local Node program's code tree is its package directory (store.ts `localPackage`).
    const pkg = localPackage(file);
    const codeDir = pkg?.root ?? dirname(file);
    const sdk = Deno.realPathSync(SDK_DIR);
    const graph = await resolveGraph(resolve(entry), {
      deno,
      codeDir,
      sdk,
      flags: [
        `--config=${config}`,
        "--frozen-lockfile",
        "--node-modules-dir=manual",
        "--no-remote",
      ],
      cwd: root,
      denoDir: cache,
      timeoutMs: opts.graphTimeoutMs,
    }).catch((e) => {
      throw new Error(`bundling ${entry} refused: ${e instanceof Error ? e.message : e}`);
    });
    // npm packages installed from the lockfile are dependencies, not the agent's files.
    const deps = existing([join(root, "node_modules")]).map((p) => Deno.realPathSync(p));
    if (pkg) {
      // The graph does not follow require() as Node resolves it (extensions, node_modules):
      // the bundler reads the package as a whole — its modules, its package.json and data,
      // its own node_modules — so the package directory is decided once, as the agent.
      const ask = { action: "import", resource: pathToFileURL(pkg.root).href + "/" };
      const d = opts.decide(ask, { ...graph, codeDir });
      if (d.effect !== "allow") {
        throw new Error(
          `bundling ${entry} refused: the bundler reads the whole package ${pkg.root}, and ` +
            `import ${ask.resource} is denied: ${d.reason.split("\n")[0]}`,
        );
      }
      decided.push(pkg.root);
    }
    for (const path of [...graph.code, ...graph.other]) {
      if (deps.some((d) => inside(path, d))) continue;
      if (pkg && inside(path, pkg.root)) continue;
      const asImport = inside(path, codeDir) || inside(path, sdk);
      const ask = asImport
        ? { action: "import", resource: pathToFileURL(path).href }
        : { action: "fs.read", resource: path };
      const d = opts.decide(ask, { ...graph, codeDir });
      if (d.effect !== "allow") {
        throw new Error(
          `bundling ${entry} refused: ${ask.action} ${ask.resource} denied: ${
            d.reason.split("\n")[0]
          }`,
        );
      }
      decided.push(path);
    }
  }
  const readOnly = existing([
    ...SYSTEM_READ_ONLY,
    "/etc/resolv.conf",
    Deno.realPathSync(deno),
    cache,
    SDK_DIR,
    config,
    join(root, "deno.lock"),
    join(root, "package.json"),
    join(root, "node_modules"),
    ...decided,
  ]);
  const args = [
    ...readOnly.flatMap((p) => ["--ro", p]),
    "--rw",
    dirname(out),
    "--",
    deno,
    "bundle",
    "--quiet",
    "--platform=deno",
    `--config=${config}`,
    "--frozen",
    "--no-remote",
    "--external=@warden/sdk",
    `--output=${out}`,
    isFile ? resolve(entry) : entry,
  ];
  const r = await new Deno.Command(opts.launcher, {
    args,
    cwd: root,
    clearEnv: true,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", DENO_DIR: cache, HOME: dirname(out) },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    const err = new TextDecoder().decode(r.stderr);
    const text = err.includes("Deno has panicked")
      ? "deno bundle crashed (is every package it needs installed from the lockfile?)"
      : bundleFailure(err);
    throw new Error(`bundling ${entry} failed: ${text || `deno bundle exited ${r.code}`}`);
  }
  return out;
}

/**
 * `deno bundle`'s error output as one line: `<file>:<line>:<col>: <message>` and its causes.
 * A bundle is one ES module, so strict mode: sloppy-mode CommonJS that a `with` statement, a
 * `delete` of a plain variable or a legacy octal escape makes invalid there refuses the bundle,
 * and the line says so. (Sloppy code that is valid strict syntax — an assignment to an
 * undeclared variable, `arguments.callee` — bundles, then throws when it runs.)
 */
export function bundleFailure(stderr: string): string {
  // deno-lint-ignore no-control-regex
  const lines = stderr.replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((l) => l.trim())
    .filter((l) =>
      l && !l.includes("is experimental") && !/^(Stack backtrace|\d+: <unknown>)/.test(l)
    );
  const errors = lines.filter((l) => l.startsWith("error:") && l !== "error: bundling failed");
  if (errors.length === 0) return lines.slice(0, 2).join("; ");
  const first = errors[0].replace(/^error:\s*/, "");
  const i = lines.indexOf(errors[0]);
  const causes: string[] = [];
  let at = "";
  for (const l of lines.slice(i + 1)) {
    if (l.startsWith("error:")) break;
    const m = /^at (file:\/\/\S+)$/.exec(l);
    if (m && !at) {
      try {
        at = fileURLToPath(m[1].replace(/(:\d+)+$/, "")) + (/(:\d+)+$/.exec(m[1])?.[0] ?? "");
      } catch {
        at = m[1];
      }
    } else if (/^\d+: /.test(l)) causes.push(l.replace(/^\d+: /, ""));
  }
  const strict = /strict mode/.test(first)
    ? " (a bundle is one strict-mode ES module, and this is sloppy-mode code: run it " +
      "without bundling, the default)"
    : "";
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more errors)` : "";
  return `${at ? `${at}: ` : ""}${first}${
    causes.length ? `: ${causes.join(": ")}` : ""
  }${strict}${more}`;
}
