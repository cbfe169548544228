/**
 * Before an agent starts: bundle it when asked (every local file the bundler reads decided as
 * the agent), resolve the module graph of what will run, record its own-code files and digest
 * on the agent's identity record, and decide each other local file the graph names (data
 * imports, modules outside the entry's tree) as the broker would map its read — `import` of a
 * file URL inside the entry's tree or the SDK, else `fs.read` — audited as the agent. Only the
 * own-code modules and the files so allowed are exposed to the agent process (Deno flags and
 * kernel rules name them one by one); everything else stays decided by the broker, deny by
 * default.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { AgentRef, Governor } from "../governor.ts";
import { bundleModule } from "./bundle.ts";
import { resolveGraph } from "./graph.ts";
import { exists } from "./spawn.ts";
import { installDependencies, type StoredPackage } from "./store.ts";

/** What the host needs to prepare an agent's code. */
export interface OwnCodeOptions {
  /** The entry module (absolute path, or `npm:` when bundling). */
  module: string;
  /** Where the bundle goes, when bundling (its directory is the agent's code directory). */
  bundleOut?: string;
  ref: AgentRef;
  governor: Governor;
  deno: string;
  sandbox: { path: string | null; why: string };
  /** The agent process's import map (the graph resolves as the process will). */
  importMap: string;
  /** The agent's private state directory. */
  dir: string;
  /** The ring may write anywhere (ring 0): own code inside its workspace is then moot. */
  writesAnywhere?: boolean;
  timeoutMs?: number;
  /** An `npm:` agent installed in the package store (runs from there, not bundled). */
  stored?: StoredPackage;
  /** The package store, where a local agent's `npm:` imports are installed (not bundled). */
  storeDir?: string;
}

/** The agent's prepared code: the module to run and the files to expose. */
export interface OwnCode {
  module: string;
  /**
   * Own-code modules outside the SDK tree and the package.json files Deno reads next to them
   * (`ModuleGraph.manifests`), then the other files the policy allowed.
   */
  expose: string[];
  /**
   * A package-store agent: its store directory (exposed read-only as a whole) and the Deno
   * configuration its process runs with (node_modules in "manual" mode, the SDK import map).
   */
  store?: { root: string; config: string };
  /** Node-style code (`ModuleGraph.nodeFs`): started in the bootstrap's "node" mode. */
  nodeFs?: boolean;
  /** Relative requests resolved as `require` does (`ModuleGraph.requires`), for the bootstrap. */
  requires?: Record<string, string>;
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root + "/");
}

/** Bundle (when asked), resolve and hash the graph, decide what is not own code. */
export async function prepareOwnCode(o: OwnCodeOptions): Promise<OwnCode> {
  const { ref, governor } = o;
  if (o.stored) return storedCode(o, o.stored);
  let module = o.module;
  if (o.bundleOut) {
    module = await bundleModule(module, o.bundleOut, {
      deno: o.deno,
      launcher: o.sandbox.path,
      why: o.sandbox.why,
      graphTimeoutMs: o.timeoutMs,
      decide: (ask, graph) =>
        governor.decide(
          { ...ref, code: graph.codeDir, codeFiles: new Set(graph.code), codeDigest: graph.digest },
          { path: "host", action: ask.action, resource: ask.resource, args: { reader: "bundler" } },
        ),
    });
  }
  const cache = join(o.dir, "graph_cache");
  Deno.mkdirSync(cache, { recursive: true, mode: 0o700 });
  const graph = await resolveGraph(module, {
    deno: o.deno,
    codeDir: ref.code,
    sdk: ref.sdk,
    workspace: ref.workspace,
    flags: ["--no-config", "--no-lock", "--no-remote", "--no-npm", `--import-map=${o.importMap}`],
    cwd: o.dir,
    denoDir: cache,
    timeoutMs: o.timeoutMs,
  });
  const writable = o.writesAnywhere ? undefined : graph.code.find((p) => inside(p, ref.workspace));
  if (writable) {
    throw new Error(
      `own code ${writable} lies in the agent's workspace, where it could rewrite its code after ` +
        `it was hashed: give it a workspace outside its code`,
    );
  }
  ref.codeFiles = new Set(graph.code);
  ref.codeDigest = graph.digest;
  // Deno reads the own code's package.json files itself (module type): the kernel lets it.
  const expose = [...graph.code.filter((p) => !inside(p, ref.sdk)), ...graph.manifests];
  for (const path of graph.other) {
    // The broker's mapping (runtime/broker/map.ts): the entry's tree (not the workspace) and
    // the SDK are `import`, anything else `fs.read`.
    const asImport = (inside(path, ref.code) && !inside(path, ref.workspace)) ||
      inside(path, ref.sdk);
    const d = governor.decide(ref, {
      path: "host",
      action: asImport ? "import" : "fs.read",
      resource: asImport ? pathToFileURL(path).href : path,
      args: { reader: "module graph", note: "named by the agent's module graph, not own code" },
    });
    if (d.effect === "allow" && exists(path) && !path.includes(",")) expose.push(path);
  }
  if (graph.npm.length > 0 && o.storeDir) {
    // A local agent's npm: imports run installed, not bundled: its packages as published,
    // their own dependency versions (store.ts), read through the rule warden-package-store.
    const { imports } = JSON.parse(Deno.readTextFileSync(o.importMap));
    const deps = await installDependencies(graph.npm, imports, { dir: o.storeDir, deno: o.deno });
    ref.store = deps.root;
    const store = { root: deps.root, config: deps.config };
    return { module, expose, nodeFs: true, store, requires: graph.requires };
  }
  return { module, expose, nodeFs: graph.nodeFs, requires: graph.requires };
}

/**
 * A package-store agent: Deno does not analyse node_modules (its modules are "external" to
 * `deno info`), so own code is the package's entry, and its store tree — the package as
 * published and its dependencies, read-only under its integrity — is read through the broker
 * (the built-in rule `warden-package-store`). The code digest is the store lockfile's.
 */
function storedCode(o: OwnCodeOptions, p: StoredPackage): OwnCode {
  const config = join(o.dir, "deno.json");
  const { imports } = JSON.parse(Deno.readTextFileSync(o.importMap));
  if (inside(o.ref.workspace, p.root)) {
    throw new Error(
      `its workspace ${o.ref.workspace} lies in its package ${p.root}, where it could rewrite ` +
        `its code: give it a workspace outside the package`,
    );
  }
  // A local package's entry lies outside node_modules: CommonJS is detected there as Node does.
  const unstable = p.local ? { unstable: ["detect-cjs"] } : {};
  Deno.writeTextFileSync(
    config,
    JSON.stringify({ nodeModulesDir: "manual", lock: false, imports, ...unstable }) + "\n",
    { mode: 0o600 },
  );
  o.ref.codeFiles = new Set([p.entry]);
  o.ref.codeDigest = p.digest;
  o.ref.store = p.root;
  return { module: p.entry, expose: [], store: { root: p.root, config } };
}
