/** Start an agent process: clean environment, own cache, OS limits, ring flags, broker. */
import type { KernelLayers } from "./sandbox/layers.ts";

/** What one agent process needs. */
export interface SpawnSpec {
  deno: string;
  bootstrap: string;
  agentUrl: string;
  sdkSocket: string;
  brokerSocket: string;
  workspace: string;
  denoDir: string;
  importMap: string;
  /** A Deno configuration file instead of `--no-config --no-npm --import-map` (store agents). */
  config?: string;
  /** A synthetic hostname in a UTS namespace of the agent's own (see canSetHostname). */
  hostname?: string;
  /** The ring's Deno permission flags. */
  flags: string[];
  /** V8 old-space cap. */
  heapMb: number;
  /** RLIMIT_CPU in seconds (the host's CPU budget acts earlier). */
  cpuSeconds: number;
  /** RLIMIT_FSIZE in bytes: no file the agent writes grows past it (SIGXFSZ). */
  fileSizeBytes?: number;
  stdout: "piped" | "inherit" | "null";
  /** The agent's stdin ("piped" for MCP servers, which speak JSON-RPC on stdio). */
  stdin?: "piped" | "null";
  /** Arguments for the agent itself (after the bootstrap's own). */
  args?: string[];
  /** Also rewrite node's `process.argv` for the agent (Node-style code; costs start-up time). */
  nodeArgv?: boolean;
  /**
   * In "node" mode: relative requests resolved by the host as `require` does (request path ->
   * own-code module, `ModuleGraph.requires`), handed to the bootstrap in its mode argument.
   */
  requires?: Record<string, string>;
  /** Extra process environment (checked by `processEnvProblem` first). */
  env?: Record<string, string>;
  stderr: "piped" | "inherit" | "null";
  /** Landlock launcher: when set, the kernel confines the agent to `readOnly`/`readWrite`. */
  sandbox?: {
    launcher: string;
    readOnly: string[];
    readWrite: string[];
    /** Make chdir/fchdir/chroot fail (seccomp), so relative paths always mean the workspace. */
    pinCwd?: boolean;
    /** Start no program at all (seccomp: execve refused after the launcher's own exec). */
    noExec?: boolean;
    /** Create no unix socket (seccomp); `unixFd`: the one connection it is handed instead. */
    noUnix?: boolean;
    unixFd?: string;
    /** With `netns`: the egress forwarder, `PORT:SOCKET` (runtime/egress). */
    egress?: string;
    /** Its loopback port (for the layer report). */
    egressPort?: number;
  } & Partial<KernelLayers>;
  /** A CA file the agent's Deno trusts besides the system roots (`--cert`: the egress CA). */
  certFile?: string;
}

/** What the Deno runtime itself needs to read, besides the agent's own trees. */
export const SYSTEM_READ_ONLY = [
  "/lib",
  "/lib64",
  "/usr/lib",
  "/usr/lib64",
  "/etc/ld.so.cache",
  "/etc/localtime",
  "/dev/null",
  "/dev/urandom",
];

/** Does `path` exist (following symlinks)? */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Linux tools used to wrap the agent (each is optional; missing ones are reported). */
export const WRAPPERS = {
  /** New session and process group, so a kill reaches every descendant. */
  setsid: exists("/usr/bin/setsid") ? "/usr/bin/setsid" : null,
  /** SIGKILL the agent when the host dies. */
  setpriv: exists("/usr/bin/setpriv") ? "/usr/bin/setpriv" : null,
  /** OS resource limits (CPU seconds, no core dumps, open files, file size). */
  prlimit: exists("/usr/bin/prlimit") ? "/usr/bin/prlimit" : null,
  /** A UTS namespace of its own, for a synthetic hostname (needs CAP_SYS_ADMIN). */
  unshare: exists("/usr/bin/unshare") && exists("/bin/sh") ? "/usr/bin/unshare" : null,
};

/** Sets the new UTS namespace's hostname to $0, then execs the rest (same process). */
// The shell's own variables (PWD, OLDPWD, SHLVL) must not reach the agent's environment.
const SET_HOSTNAME =
  'printf %s "$0" > /proc/sys/kernel/hostname && unset PWD OLDPWD SHLVL && exec "$@"';

let utsProbe: boolean | undefined;
/** Whether this host can give agents a hostname of their own (probed once). */
export function canSetHostname(): boolean {
  if (utsProbe !== undefined) return utsProbe;
  if (!WRAPPERS.unshare) return utsProbe = false;
  try {
    const r = new Deno.Command(WRAPPERS.unshare, {
      args: ["--uts", "/bin/sh", "-c", SET_HOSTNAME, "warden-probe", "/bin/sh", "-c", "exit 0"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return utsProbe = r.success;
  } catch {
    return utsProbe = false;
  }
}

/** The argv that starts an agent. */
export function agentArgv(s: SpawnSpec): string[] {
  const deno = [
    s.deno,
    "run",
    "--no-prompt",
    "--no-remote",
    // A package-store agent resolves node_modules in "manual" mode from its configuration
    // (store.ts); everything else resolves npm: nothing and reads no configuration.
    ...(s.config
      ? [`--config=${s.config}`]
      : ["--no-npm", "--no-config", `--import-map=${s.importMap}`]),
    "--no-lock",
    "--cached-only",
    `--v8-flags=--max-old-space-size=${s.heapMb}`,
    ...(s.certFile ? [`--cert=${s.certFile}`] : []),
    ...s.flags,
    s.bootstrap,
    s.sdkSocket,
    s.agentUrl,
    s.nodeArgv ? bootstrapNodeMode(s.requires) : "deno",
    ...(s.args ?? []),
  ];
  return [...confinementArgv(s), ...deno];
}

/**
 * The bootstrap's "node" mode argument: `node`, or `node:` + the JSON of the host's require
 * resolutions (bootstrap.ts). A map too big for one argument is left out: those requests are
 * then decided at run time as before (refused).
 */
export function bootstrapNodeMode(requires: Record<string, string> | undefined): string {
  if (!requires || Object.keys(requires).length === 0) return "node";
  const arg = `node:${JSON.stringify(requires)}`;
  return arg.length <= MAX_REQUIRES_ARG ? arg : "node";
}

/** Bytes the require map may take in one argument (Linux caps one at 128 KiB). */
const MAX_REQUIRES_ARG = 64 * 1024;

/**
 * The wrappers and kernel launcher a program runs under (session, parent-death signal, OS
 * limits, UTS namespace, Landlock/seccomp), in order; the program's own argv follows. Deno
 * agents and command agents (command.ts) share it.
 */
export function confinementArgv(
  s: Pick<SpawnSpec, "cpuSeconds" | "fileSizeBytes" | "hostname" | "sandbox">,
): string[] {
  const argv: string[] = [];
  if (WRAPPERS.setsid) argv.push(WRAPPERS.setsid);
  if (WRAPPERS.setpriv) argv.push(WRAPPERS.setpriv, "--pdeathsig", "KILL");
  if (WRAPPERS.prlimit) {
    argv.push(WRAPPERS.prlimit, `--cpu=${s.cpuSeconds}`, "--core=0", "--nofile=1024");
    if (s.fileSizeBytes !== undefined) argv.push(`--fsize=${s.fileSizeBytes}`);
    argv.push("--");
  }
  if (s.hostname && WRAPPERS.unshare) {
    argv.push(WRAPPERS.unshare, "--uts", "/bin/sh", "-c", SET_HOSTNAME, s.hostname);
  }
  if (s.sandbox) {
    argv.push(s.sandbox.launcher);
    if (s.sandbox.pinCwd) argv.push("--pin-cwd");
    if (s.sandbox.noExec) argv.push("--no-exec");
    if (s.sandbox.noUnix) argv.push("--no-unix");
    if (s.sandbox.unixFd) argv.push("--unix-fd", s.sandbox.unixFd);
    argv.push(...kernelLayerFlags(s.sandbox));
    if (s.sandbox.netns && s.sandbox.egress) argv.push("--egress", s.sandbox.egress);
    for (const p of s.sandbox.readOnly) argv.push("--ro", p);
    for (const p of s.sandbox.readWrite) argv.push("--rw", p);
    argv.push("--");
  }
  return argv;
}

/** The launcher flags of an agent's seccomp profile and Landlock network and scope rules. */
export function kernelLayerFlags(k: Partial<KernelLayers>): string[] {
  const out = k.seccomp ? [`--seccomp=${k.seccomp}`] : [];
  if (k.tcp) {
    out.push("--tcp");
    for (const p of k.tcp.connect) out.push("--tcp-connect", String(p));
    for (const p of k.tcp.bind) out.push("--tcp-bind", String(p));
  }
  if (k.noInet) out.push("--no-inet");
  if (k.netns) out.push("--netns");
  if (k.scope) out.push("--scope");
  return out;
}

/** What the host adds to every agent's environment (besides the plan's `env`). */
function runtimeEnv(s: Pick<SpawnSpec, "brokerSocket" | "denoDir">): Record<string, string> {
  return {
    DENO_PERMISSION_BROKER_PATH: s.brokerSocket,
    DENO_DIR: s.denoDir,
    DENO_NO_UPDATE_CHECK: "1",
    DENO_NO_PROMPT: "1",
    NO_COLOR: "1",
  };
}

/**
 * The runtime's own plumbing: read by Deno at start-up, then deleted by the bootstrap before
 * agent code runs (bootstrap.ts), so an agent sees them unset. NO_COLOR stays.
 */
export const RUNTIME_ENV_NAMES: ReadonlySet<string> = new Set(
  Object.keys(runtimeEnv({ brokerSocket: "", denoDir: "" })).filter((n) => n.startsWith("DENO_")),
);

/** Every variable name in the agent process's environment once its own code runs. */
export function agentEnvNames(env: Record<string, string> | undefined): Set<string> {
  return new Set(
    [...Object.keys(env ?? {}), ...Object.keys(runtimeEnv({ brokerSocket: "", denoDir: "" }))]
      .filter((n) => !RUNTIME_ENV_NAMES.has(n)),
  );
}

/** Spawn the agent process. Its environment holds only what Deno needs to reach its broker. */
export function spawnAgent(s: SpawnSpec): Deno.ChildProcess {
  const [cmd, ...args] = agentArgv(s);
  return new Deno.Command(cmd, {
    args,
    cwd: s.workspace,
    clearEnv: true,
    env: { ...s.env, ...runtimeEnv(s) },
    stdin: s.stdin ?? "null",
    stdout: s.stdout,
    stderr: s.stderr,
  }).spawn();
}

/** Variables that change how the runtime itself starts (loader, allocator, Deno, V8, Node). */
const RUNTIME_ENV = /^(LD_|DENO_|NODE_|GLIBC_|MALLOC_|RUST_|V8_|NPM_)/i;

/**
 * Why a process environment variable may not be given to an agent, or null when it may. Names
 * must be plain identifiers; nothing that steers the dynamic loader or the runtime is passed
 * (LD_PRELOAD would run code before Deno's permission checks exist). Reading a variable is
 * still an `env` permission check decided by the broker.
 */
export function processEnvProblem(name: string, value: string): string | null {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) return `"${name}" is not a variable name`;
  if (RUNTIME_ENV.test(name)) return `${name} steers the runtime and is never passed to agents`;
  if (value.includes("\0") || value.length > 32768) return `${name}: value is not acceptable`;
  return null;
}

/** SIGKILL the agent's whole process group (or the process when it has no group of its own). */
export function killGroup(pid: number): void {
  try {
    Deno.kill(WRAPPERS.setsid ? -pid : pid, "SIGKILL");
  } catch {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* already gone */ }
  }
}
