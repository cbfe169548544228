/**
 * Command agents: any executable (`python3 agent.py`, a native program, a runtime without the
 * SDK) run at a ring under the same kernel layers as a Deno agent — the ring's Landlock trees,
 * its seccomp profile, its TCP and scope rules, its cgroup — but without Deno's permission
 * checks or the broker: the kernel is the boundary, and the program reaches the host's tools
 * only through the MCP socket it is given (`WARDEN_MCP_SOCKET`, command_mcp.ts).
 *
 * The program joins its cgroup before it runs (a shell writes its own pid into each
 * controller's `cgroup.procs`, then execs the wrappers): no instruction of the program runs
 * outside its budgets. Pure planning here; `spawnCommand` starts it.
 */
import { delimiter, join } from "node:path";
import type { Budgets, RingCeiling } from "../../governance/rings/mod.ts";
import type { AgentCgroup } from "./cgroup.ts";
import type { Sandbox } from "./sandbox/build.ts";
import { type KernelLayers, kernelLayers, missingLayerRefusal } from "./sandbox/layers.ts";
import { pinsCwd } from "./launch.ts";
import { confinementArgv, processEnvProblem, SYSTEM_READ_ONLY } from "./spawn.ts";

/** Where a command agent finds programs named without a slash (and what its PATH is). */
export const COMMAND_PATH = "/usr/local/bin:/usr/bin:/bin";

/** Joins each cgroup directory ($2.. up to $1 of them) with its own pid, then execs the rest. */
const JOIN = 'n=$1; shift; while [ "$n" -gt 0 ]; do printf %s "$$" > "$1/cgroup.procs" || ' +
  'exit 125; shift; n=$((n-1)); done; unset PWD OLDPWD SHLVL; exec "$@"';

/** The argv prefix that moves the process into `dirs` (its cgroup) before anything else runs. */
export function cgroupJoinArgv(dirs: string[]): string[] {
  return dirs.length ? ["/bin/sh", "-c", JOIN, "warden-join", String(dirs.length), ...dirs] : [];
}

/**
 * The real path of `program`: as given when it has a slash, else the first executable file of
 * that name in COMMAND_PATH; null when there is none.
 */
export function resolveProgram(program: string): string | null {
  const candidates = program.includes("/")
    ? [program]
    : COMMAND_PATH.split(delimiter).map((d) => join(d, program));
  for (const c of candidates) {
    try {
      const st = Deno.statSync(c);
      if (st.isFile && st.mode !== null && (st.mode & 0o111) !== 0) return Deno.realPathSync(c);
    } catch { /* next */ }
  }
  return null;
}

/** Script files an interpreter runs: the first argument with one of these endings is code. */
const SCRIPT = /\.(py|pyc|js|mjs|cjs|ts|mts|rb|pl|sh|lua|php|r|jl|tcl)$/i;

/**
 * A command agent's own code, read-only to it: the executable and, when its first argument is
 * an existing script file (`agent.py`), that file, by real path. No other argument is: naming a
 * file as an argument never makes it readable. The interpreter's libraries are under /usr/lib.
 */
export function commandCode(exe: string, args: string[]): string[] {
  const out = [exe];
  const first = args[0];
  if (first !== undefined && SCRIPT.test(first)) {
    try {
      if (Deno.statSync(first).isFile) out.push(Deno.realPathSync(first));
    } catch { /* not a file */ }
  }
  return out;
}

/** The Landlock trees of a command agent at a ring: `${code}` is `code`, `${workspace}` its own. */
export function commandRoots(
  c: Pick<RingCeiling, "read" | "write">,
  workspace: string,
  code: string[],
  writable: string[] = [],
): { readOnly: string[]; readWrite: string[] } {
  const expand = (l: string[]) =>
    l.flatMap((x) => (x === "${workspace}" ? [workspace] : x === "${code}" ? code : [x]))
      .filter((p) => p.startsWith("/"));
  const readOnly = c.read === true
    ? ["/"]
    : [...SYSTEM_READ_ONLY, ...code, ...(c.read === false ? [] : expand(c.read))];
  const readWrite = c.write === true
    ? ["/"]
    : [...writable, ...(c.write === false ? [] : expand(c.write))];
  return { readOnly: [...new Set(readOnly)], readWrite: [...new Set(readWrite)] };
}

/** Everything one command agent's spawn is made of. */
export interface CommandPlan {
  /** The program (resolved) and its arguments. */
  argv: string[];
  workspace: string;
  /** The process environment (checked: no loader or runtime variables). */
  env: Record<string, string>;
  /** The cgroup directories it joins before it runs (none: the watchdog alone). */
  cgroupDirs: string[];
  cpuSeconds: number;
  fileSizeBytes: number;
  /** Its private directories (home, cache, temp), made before it starts. */
  dirs: string[];
  /** The kernel launcher and the ring's layers and trees. */
  sandbox: {
    launcher: string;
    readOnly: string[];
    readWrite: string[];
    pinCwd: boolean;
    noExec: boolean;
    /** No unix socket of its own (rings 1-3): its one is `unixFd`'s connection. */
    noUnix: boolean;
    unixFd?: string;
    /** The egress forwarder (`PORT:SOCKET`) in its network namespace, and its port. */
    egress?: string;
    egressPort?: number;
  } & KernelLayers;
  stdin?: "piped" | "null" | "inherit";
  stdout?: "piped" | "null" | "inherit";
  stderr?: "piped" | "null" | "inherit";
}

/** The full argv of a command agent: cgroup join, wrappers, launcher, program. */
export function commandArgv(p: CommandPlan): string[] {
  return [
    ...cgroupJoinArgv(p.cgroupDirs),
    ...confinementArgv({
      cpuSeconds: p.cpuSeconds,
      fileSizeBytes: p.fileSizeBytes,
      sandbox: p.sandbox,
    }),
    ...p.argv,
  ];
}

/** What a command agent's plan is made from. */
export interface CommandInput {
  /** The program as the operator named it, and its arguments. */
  argv: string[];
  ring: number;
  ceiling: RingCeiling;
  /** Its workspace (real path). */
  workspace: string;
  /** A directory of its own it may always write (its cache: HOME's and XDG_CACHE_HOME's). */
  cache: string;
  budgets: Budgets;
  sandbox: Sandbox;
  cgroup: AgentCgroup | null;
  /** The operator's process environment for it (checked). */
  env?: Record<string, string>;
  cpuMs?: number;
  /** More files of its own code (read-only), besides `commandCode`'s. */
  code?: string[];
  /** The host's MCP socket for it: connected by the launcher, handed over as WARDEN_UNIX_FD. */
  mcpSocket?: string;
  /**
   * Its egress proxy (runtime/egress), when its ring has a network namespace and any network:
   * the forwarder's `PORT:SOCKET`, the CA file it trusts, and the proxy variables (set by the
   * host, so not subject to the operator-environment check).
   */
  egress?: { port: number; socketPath: string; caPath: string; env: Record<string, string> };
}

/**
 * A command agent's launch, or why it cannot start (one line): the kernel sandbox is required
 * (nothing else confines a program that never asks the broker), and so is every layer its ring
 * requires.
 */
export function planCommand(
  i: CommandInput,
): { plan: CommandPlan; unavailable: string[] } | string {
  if (!i.sandbox.path) return `a command agent needs the kernel sandbox (${i.sandbox.why})`;
  const [program, ...args] = i.argv;
  if (!program) return "no program to run";
  const exe = resolveProgram(program);
  if (!exe) return `program not found or not executable: ${program}`;
  const kl = kernelLayers(i.ring, i.ceiling, i.sandbox.abi ?? 1, i.sandbox.netns ?? true);
  const missing = missingLayerRefusal(kl.missing);
  if (missing) return missing;
  const own = {
    HOME: join(i.cache, "home"),
    XDG_CACHE_HOME: join(i.cache, "xdg"),
    TMPDIR: join(i.cache, "tmp"),
  };
  const bad = commandEnvProblem({ ...own, ...i.env });
  if (bad) return `environment: ${bad}`;
  const egress = kl.layers.netns && !kl.layers.noInet ? i.egress : undefined;
  const env: Record<string, string> = { ...own, ...i.env, ...(egress ? egressEnv(egress) : {}) };
  const roots = commandRoots(
    i.ceiling,
    i.workspace,
    [
      ...commandCode(exe, args),
      ...(i.code ?? []).map((f) => Deno.realPathSync(f)),
      ...(egress ? [egress.caPath] : []),
    ],
    [i.cache],
  );
  const tcp = kl.layers.tcp && egress
    ? { ...kl.layers.tcp, connect: [...new Set([...kl.layers.tcp.connect, egress.port])] }
    : kl.layers.tcp;
  return {
    plan: {
      argv: [exe, ...args],
      workspace: i.workspace,
      env,
      cgroupDirs: i.cgroup?.dirs() ?? [],
      dirs: Object.values(own),
      cpuSeconds: Math.max(1, Math.ceil((i.cpuMs ?? 600_000) / 1000) + 1),
      fileSizeBytes: i.budgets.diskBytes,
      sandbox: {
        launcher: i.sandbox.path,
        ...roots,
        pinCwd: pinsCwd(i.ceiling),
        noExec: pinsCwd(i.ceiling),
        noUnix: i.ring >= 1,
        ...(i.mcpSocket ? { unixFd: i.mcpSocket } : {}),
        ...kl.layers,
        tcp,
        ...(egress
          ? { egress: `${egress.port}:${egress.socketPath}`, egressPort: egress.port }
          : {}),
      },
    },
    unavailable: kl.unavailable,
  };
}

/**
 * The proxy variables of a command agent with an egress proxy: the proxy's own (HTTP_PROXY,
 * HTTPS_PROXY, ALL_PROXY, NODE_EXTRA_CA_CERTS) and the CA bundle variables OpenSSL, Python
 * requests and curl read, all naming the proxy's CA (every HTTPS connection goes through it).
 */
function egressEnv(e: { caPath: string; env: Record<string, string> }): Record<string, string> {
  return {
    ...e.env,
    SSL_CERT_FILE: e.caPath,
    REQUESTS_CA_BUNDLE: e.caPath,
    CURL_CA_BUNDLE: e.caPath,
  };
}

/** Why `env` may not be a command agent's environment, or null. */
export function commandEnvProblem(env: Record<string, string>): string | null {
  for (const [k, v] of Object.entries(env)) {
    const why = processEnvProblem(k, v);
    if (why) return why;
  }
  return null;
}

/**
 * Start a command agent from its plan (`planCommand` checked the operator's environment): its
 * cwd is its workspace, nothing of the host's environment reaches it.
 */
export function spawnCommand(p: CommandPlan): Deno.ChildProcess {
  for (const d of p.dirs) Deno.mkdirSync(d, { recursive: true, mode: 0o700 });
  const [cmd, ...args] = commandArgv(p);
  return new Deno.Command(cmd, {
    args,
    cwd: p.workspace,
    clearEnv: true,
    env: { PATH: COMMAND_PATH, ...p.env },
    stdin: p.stdin ?? "null",
    stdout: p.stdout ?? "piped",
    stderr: p.stderr ?? "piped",
  }).spawn();
}
