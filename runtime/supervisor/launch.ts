/**
 * Launch planning: from an agent's spec, its ring's ceiling and its prepared own code to
 * everything `spawnAgent` needs — where its files go, its budgets, its Deno flags, its kernel
 * (Landlock) roots and its process environment. Pure: no process, no file is touched here (the
 * host creates the directories and spawns), so a plan can be unit-tested on its own.
 */
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  agentBudgets,
  type BudgetOverrides,
  type Budgets,
  type BudgetsSection,
  type Ring,
  ringBudgets,
  type RingCeiling,
  ringFlags,
} from "../../governance/rings/mod.ts";
import type { AgentRef } from "../governor.ts";
import type { OwnCode } from "./own_code.ts";
import { processEnvProblem, type SpawnSpec, SYSTEM_READ_ONLY } from "./spawn.ts";
import type { KernelLayers } from "./sandbox/layers.ts";

/** The SDK tree agents import as `@warden/sdk` (read-only to them). */
export const SDK_DIR = new URL("../../sdk/", import.meta.url).pathname.replace(/\/$/, "");
/** The bootstrap an agent process starts in (and the one of plugin processes). */
export const BOOTSTRAP = new URL("./bootstrap.ts", import.meta.url).pathname;
export const PLUGIN_BOOTSTRAP = new URL("./plugin_bootstrap.ts", import.meta.url).pathname;
const BOOTSTRAP_DIR = dirname(BOOTSTRAP);

/** What of an agent's spec the launch plan reads (`AgentSpec` has it all). */
export interface LaunchSpec {
  memoryBytes?: number;
  budgets?: BudgetOverrides;
  heapMb?: number;
  cpuMs?: number;
  stdio?: "piped" | "inherit" | "null";
  stdin?: "piped" | "null";
  args?: string[];
  bundle?: boolean;
  processEnv?: Record<string, string>;
}

/** An agent's default name: its file name, or the package name of an `npm:` entry. */
export function agentName(module: string): string {
  if (module.startsWith("npm:")) {
    const pkg = module.slice(4).replace(/@[^@/]*$/, "");
    return pkg.split("/").pop() || "npm-agent";
  }
  const base = module.split("/").pop()!.replace(/\.[cm]?[jt]sx?$/, "");
  if (!GENERIC_ENTRY.has(base)) return base;
  // `node …/dist/index.js`: the package it belongs to names it, else its directory.
  let dir = dirname(module);
  for (let i = 0; i < 6 && dir !== dirname(dir); i++, dir = dirname(dir)) {
    try {
      const name = JSON.parse(Deno.readTextFileSync(join(dir, "package.json"))).name;
      if (typeof name === "string" && name) return name.split("/").pop()!;
    } catch { /* none here */ }
  }
  const parent = dirname(module).split("/").filter((p) => !GENERIC_DIR.has(p)).pop();
  return parent || base;
}

/** File names that say nothing about the program (`index.js`, `main.ts`, `cli.mjs`…). */
const GENERIC_ENTRY = new Set(["index", "main", "cli", "server", "bin", "mod"]);
const GENERIC_DIR = new Set(["dist", "build", "lib", "src", "bin", "out"]);

/** Where one agent's private files go, under its state directory `dir`. */
export interface AgentPaths {
  dir: string;
  brokerSocket: string;
  sdkSocket: string;
  importMap: string;
  /** The agent's own Deno cache (always writable to it). */
  denoDir: string;
  /** The bundle, when bundling (its directory is then the agent's code directory). */
  bundleOut?: string;
}

/** The paths of an agent's private files in `dir`. */
export function agentPaths(dir: string, name: string, bundle: boolean): AgentPaths {
  return {
    dir,
    brokerSocket: join(dir, "b.sock"),
    sdkSocket: join(dir, "s.sock"),
    importMap: join(dir, "import_map.json"),
    denoDir: join(dir, "deno_dir"),
    ...(bundle ? { bundleOut: join(dir, "code", `${name}.bundle.js`) } : {}),
  };
}

/** Deno's `<TMP>` for the agent (makeTempDir/makeTempFile without `dir`), in its workspace. */
export function agentTmpDir(workspace: string): string {
  return join(workspace, ".warden-tmp");
}

/**
 * The agent's synthetic home (`HOME`, and what `os.homedir()` returns): a directory of its
 * own in its workspace, never the host user's home.
 */
export function agentHomeDir(workspace: string): string {
  return join(workspace, ".warden-home");
}

/** The agent process's environment: its HOME (unless the operator gives one), the operator's
 * variables and its TMPDIR. */
export function agentEnv(
  spec: { processEnv?: Record<string, string> },
  workspace: string,
): Record<string, string> {
  return { HOME: agentHomeDir(workspace), ...spec.processEnv, TMPDIR: agentTmpDir(workspace) };
}

/**
 * The agent process's import map: `@warden/sdk` is the host's SDK; `npm` adds bare names mapped
 * to `npm:` packages (a local module's configuration's, see bundle.ts `configNpmImports`).
 */
export function importMapJson(npm: Record<string, string> = {}): string {
  // The SDK's name and every subpath of it are Warden's: a configuration cannot redirect them.
  const own = Object.entries(npm).filter(([k]) =>
    k !== "@warden/sdk" && !k.startsWith("@warden/sdk/")
  );
  return JSON.stringify({
    imports: {
      ...Object.fromEntries(own),
      "@warden/sdk": pathToFileURL(join(SDK_DIR, "mod.ts")).href,
    },
  });
}

/** Why the spec's process environment is refused, or null (loader and runtime variables). */
export function processEnvRefusal(env: Record<string, string> | undefined): string | null {
  for (const [k, v] of Object.entries(env ?? {})) {
    const why = processEnvProblem(k, v);
    if (why) return `environment: ${why}`;
  }
  return null;
}

/**
 * An agent's budgets: its ring's (the rings file's `budgets:` over the defaults), then the
 * spec's overrides (`budgets` wins over `memoryBytes`). Throws an Error naming a bad override.
 */
export function launchBudgets(
  section: BudgetsSection | undefined,
  ring: Ring,
  spec: LaunchSpec,
): Budgets {
  return agentBudgets(ringBudgets(section, ring), {
    ...(spec.memoryBytes !== undefined ? { memoryBytes: spec.memoryBytes } : {}),
    ...spec.budgets,
  });
}

/** Everything a spawn plan is made of. */
export interface LaunchInput {
  spec: LaunchSpec;
  ceiling: RingCeiling;
  /** The agent's identity record (workspace, code and SDK paths already real). */
  ref: AgentRef;
  own: OwnCode;
  paths: AgentPaths;
  budgets: Budgets;
  /** The Deno executable. */
  deno: string;
  /** A plugin process (the plugin bootstrap; node's argv is never rewritten). */
  plugin: boolean;
  /**
   * The kernel sandbox: its launcher, the real path of `deno` and the kernel layers (seccomp
   * profile, TCP and scope rules: `kernelLayers`) of the agent's ring; null without one.
   */
  kernel: { launcher: string; denoReal: string; layers?: KernelLayers } | null;
  /** The agent's egress proxy (runtime/egress `startEgress`), with a network namespace. */
  egress?: { port: number; socketPath: string; caPath: string; env: Record<string, string> };
}

/**
 * Whether the agent's bootstrap runs in "node" mode (bootstrap.ts): Node-style code (a bundle,
 * a package-store agent, a graph importing `node:fs` or `npm:`, or arguments to pass) gets
 * Node's `process.argv` and a `node:fs` that answers refusals like the OS (node_fs_compat.ts).
 * Never a plugin process.
 */
export function nodeMode(spec: LaunchSpec, own: OwnCode, plugin: boolean): boolean {
  return !plugin &&
    (spec.bundle === true || own.store !== undefined || own.nodeFs === true ||
      (spec.args?.length ?? 0) > 0);
}

/** The spawn of one agent: flags, kernel roots, files, OS limits and environment. */
export function spawnPlan(i: LaunchInput): SpawnSpec {
  const { spec, ceiling, ref, own, paths } = i;
  const roots = kernelRoots(ceiling, ref, paths.denoDir, own);
  const egress = i.kernel?.layers?.netns ? i.egress : undefined;
  return {
    deno: i.deno,
    bootstrap: i.plugin ? PLUGIN_BOOTSTRAP : BOOTSTRAP,
    agentUrl: pathToFileURL(own.module).href,
    sdkSocket: paths.sdkSocket,
    brokerSocket: paths.brokerSocket,
    workspace: ref.workspace,
    denoDir: paths.denoDir,
    importMap: paths.importMap,
    ...(own.store ? { config: own.store.config } : {}),
    ...(ref.syntheticHostname ? { hostname: ref.syntheticHostname } : {}),
    flags: ringFlags(ceiling, { workspace: ref.workspace, code: [...ownCodeRoots(own), ref.sdk] }),
    heapMb: spec.heapMb ?? 256,
    cpuSeconds: Math.max(1, Math.ceil((spec.cpuMs ?? 600_000) / 1000) + 1),
    fileSizeBytes: i.budgets.diskBytes,
    stdout: spec.stdio ?? "piped",
    stderr: spec.stdio ?? "piped",
    stdin: spec.stdin,
    args: spec.args,
    nodeArgv: nodeMode(spec, own, i.plugin),
    ...(own.requires && Object.keys(own.requires).length > 0 ? { requires: own.requires } : {}),
    env: { ...agentEnv(spec, ref.workspace), ...(egress?.env ?? {}) },
    ...(egress ? { certFile: egress.caPath } : {}),
    sandbox: i.kernel
      ? {
        launcher: i.kernel.launcher,
        pinCwd: pinsCwd(ceiling),
        // A ring that may not run programs starts none, whatever its runtime's checks say.
        noExec: pinsCwd(ceiling),
        ...kernelWithEgress(i.kernel.layers, egress),
        readWrite: roots.readWrite,
        readOnly: [
          ...SYSTEM_READ_ONLY,
          i.kernel.denoReal,
          BOOTSTRAP_DIR,
          paths.importMap,
          ...(egress ? [egress.caPath] : []),
          ...roots.readOnly,
        ],
      }
      : undefined,
  };
}

/**
 * The ring's kernel layers with the egress forwarder: inside its own namespace the agent's one
 * way out is the proxy's loopback port (added to Landlock's TCP connect rules when the ring has
 * them).
 */
function kernelWithEgress(
  layers: KernelLayers | undefined,
  egress: LaunchInput["egress"],
): Partial<KernelLayers> & { egress?: string; egressPort?: number } {
  if (!layers || !egress) return { ...layers };
  const tcp = layers.tcp &&
    { ...layers.tcp, connect: [...new Set([...layers.tcp.connect, egress.port])] };
  return { ...layers, tcp, egress: `${egress.port}:${egress.socketPath}`, egressPort: egress.port };
}

/**
 * Whether the launcher pins the agent's working directory (seccomp makes chdir, fchdir and
 * chroot fail with EPERM). Spawning a child sets its cwd with chdir(2): rings that may run
 * programs keep chdir (a child never asks the broker; the kernel rules bound it either way).
 */
export function pinsCwd(ceiling: { run?: unknown }): boolean {
  return ceiling.run === false || (Array.isArray(ceiling.run) && ceiling.run.length === 0);
}

/**
 * The ring ceiling as kernel (Landlock) rules: `true` opens the whole filesystem for that kind
 * of access; lists name the trees. The agent's cache is always writable.
 */
/** The files (and, for a package-store agent, the trees) that hold an agent's own code. */
function ownCodeRoots(own: OwnCode): string[] {
  return own.store ? [...own.expose, own.store.root, own.store.config] : own.expose;
}

function kernelRoots(
  c: RingCeiling,
  ref: AgentRef,
  denoDir: string,
  own: OwnCode,
): { readOnly: string[]; readWrite: string[] } {
  // `${code}` is the agent's own code file by file (and the SDK), never its directory; a
  // package-store agent's whole store tree (read-only, content-addressed) and its config.
  const code = [...ownCodeRoots(own), ref.sdk];
  const expand = (l: string[]) =>
    l.flatMap((x) => (x === "${workspace}" ? [ref.workspace] : x === "${code}" ? code : [x]))
      .filter((p) => p.startsWith("/"));
  const readOnly = c.read === true ? ["/"] : [...code, ...(c.read === false ? [] : expand(c.read))];
  const readWrite = c.write === true
    ? ["/"]
    : [denoDir, ...(c.write === false ? [] : expand(c.write))];
  return { readOnly, readWrite };
}
