/**
 * Deno permission checks -> Warden actions. Paths arrive as the agent wrote them (relative,
 * through symlinks), so they are resolved and then followed through every symlink before
 * anyone decides on them. Relative paths resolve against the agent's workspace: the directory
 * it was started in, which the kernel sandbox pins as its working directory for its whole
 * life (chdir and fchdir fail) at every ring that may not run programs, so the path decided is
 * the path the kernel opens. An agent whose working directory is not its workspace (a ring
 * that may run programs, or no kernel sandbox) has every relative path denied: it could flip
 * the directory between check and open. (A ring that may run programs is bounded by the
 * kernel rules alone in any case: a child program never asks the broker.)
 */
import { dirname, isAbsolute, join, normalize } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";

/** One line from Deno's permission broker client. */
export const BrokerRequest = z.object({
  v: z.literal(1),
  pid: z.number().int(),
  id: z.number().int().min(0),
  datetime: z.string().optional(),
  permission: z.enum(["read", "write", "net", "env", "sys", "run", "ffi", "import"]),
  value: z.string().nullable(),
});
export type BrokerRequest = z.infer<typeof BrokerRequest>;

/** The action a permission check becomes. */
export interface Mapped {
  action: string;
  resource: string;
  args: Record<string, unknown>;
  /** Set when the check cannot be decided on a path at all: deny it, with this reason. */
  refuse?: string;
  /**
   * A second action that must also be allowed (`write <TMP>` is decided on the agent's temp
   * directory and on a file literally named `<TMP>`, which is what Deno would open otherwise).
   */
  also?: Mapped;
}

/** Where relative paths and Deno's placeholders point for one agent. */
export interface PathRoots {
  code: string;
  sdk: string;
  /** The agent's working directory as started (its workspace, a real path). */
  cwd: string;
  /** The agent's temp directory (its TMPDIR); `<TMP>` means exactly this path. */
  tmp?: string;
  /** The kernel keeps the process's cwd at `cwd` (the launcher's seccomp pin). */
  cwdPinned?: boolean;
  /** The agent's package-store directory (its installed npm packages): reads there are loads. */
  store?: string;
}

/**
 * Deno's blind-check placeholders (`write <TMP>` from makeTempDir/makeTempFile without `dir`).
 * Only that one names a path; any other in a file check is refused (a file literally named
 * `<…>` cannot be told apart from a placeholder, so it is refused too).
 */
const PLACEHOLDER = /^<[^<>/]*>$/;

/**
 * Resolve symlinks: the real path of the longest existing prefix, plus the rest. Synchronous
 * on purpose: these are in-kernel path lookups of a few microseconds, while Deno's async fs
 * ops hop through a thread pool (measured: the broker check went from 133 µs to 244 µs p50).
 */
export function realPath(path: string): string {
  let head = normalize(path);
  const tail: string[] = [];
  for (let i = 0; i < 4096; i++) {
    try {
      const real = Deno.realPathSync(head);
      return tail.length ? join(real, ...tail.reverse()) : real;
    } catch {
      const parent = dirname(head);
      if (parent === head) break;
      tail.push(head.slice(parent === "/" ? 1 : parent.length + 1));
      head = parent;
    }
  }
  return normalize(path);
}

/**
 * Paths that name "the calling process" (`/proc/self`, `/dev/fd/3`, `/dev/stdin`…) must be
 * read from the agent's point of view, not the host's: rewrite them to the agent's pid.
 */
export function agentView(path: string, pid: number): string {
  const p = normalize(path);
  // Every name below is under /proc/ or /dev/: other paths (nearly all checks) build nothing.
  if (!p.startsWith("/proc/") && !p.startsWith("/dev/")) return p;
  for (const [from, to] of SELF_PATHS) {
    if (p === from || p.startsWith(from + "/")) return `/proc/${pid}${to}${p.slice(from.length)}`;
  }
  return p;
}

/** Names of the calling process, and what they are under `/proc/<pid>`. */
const SELF_PATHS: readonly (readonly [string, string])[] = [
  ["/proc/self", ""],
  ["/proc/thread-self", ""],
  ["/dev/fd", "/fd"],
  ["/dev/stdin", "/fd/0"],
  ["/dev/stdout", "/fd/1"],
  ["/dev/stderr", "/fd/2"],
];

/** The working directory of a process (null when it is gone). */
export function processCwd(pid: number): string | null {
  try {
    return Deno.readLinkSync(`/proc/${pid}/cwd`);
  } catch {
    return null;
  }
}

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : root + "/");
}

/**
 * Map a permission check from process `pid` to an action. `roots.code` and `roots.sdk` are the
 * agent's own code and the SDK, `roots.store` its installed packages: reads there are module
 * loads (`import`, decided by the module-graph and package-store rules), anything else is
 * `fs.read`. Relative paths resolve against `roots.cwd` (never the process's cwd at check
 * time, which another thread can change before the open); unless the kernel pins the cwd
 * (`roots.cwdPinned`), a check made while the process's cwd is elsewhere is refused. `write <TMP>` is the agent's temp
 * directory `roots.tmp` (and, as Deno would open that name too, the relative file `<TMP>`);
 * other `<…>` values of file checks are refused.
 */
export function mapPermission(
  r: BrokerRequest,
  roots: PathRoots,
  pid: number,
): Mapped {
  const v = r.value;
  const args: Record<string, unknown> = { permission: r.permission, value: v };
  let refuse: string | undefined;
  const path = (p: string): string => {
    if (isAbsolute(p)) return realPath(agentView(p, pid));
    const resolved = realPath(join(roots.cwd, p));
    if (roots.cwdPinned) return resolved;
    const now = processCwd(pid);
    if (now !== roots.cwd) {
      refuse ??= `relative path ${JSON.stringify(p)} while the working directory is ${
        now === null ? "unknown" : JSON.stringify(now)
      }, not the workspace (fail closed: it could change before the open)`;
    }
    return resolved;
  };
  const mapped = (m: Mapped): Mapped => (refuse ? { ...m, refuse } : m);
  const fileCheck = r.permission === "read" || r.permission === "write" || r.permission === "ffi";
  if (fileCheck && v !== null && PLACEHOLDER.test(v)) {
    const literal = mapped(mapOne(r, roots, path, args));
    if (r.permission !== "write" || v !== "<TMP>" || !roots.tmp) {
      return {
        ...literal,
        refuse: `Deno placeholder ${v} has no path for this agent (fail closed)`,
      };
    }
    return { action: "fs.write", resource: realPath(roots.tmp), args, also: literal };
  }
  return mapped(mapOne(r, roots, path, args));
}

function mapOne(
  r: BrokerRequest,
  roots: PathRoots,
  path: (p: string) => string,
  args: Record<string, unknown>,
): Mapped {
  const v = r.value;
  switch (r.permission) {
    case "read": {
      if (v === null) return { action: "fs.read", resource: "/", args };
      const p = path(v);
      // Files of the entry's tree (not its workspace, should that lie inside) and of the SDK
      // are module loads: allowed as own code only when in the agent's module graph.
      if (
        (within(p, roots.code) && !within(p, roots.cwd)) || within(p, roots.sdk) ||
        (roots.store !== undefined && within(p, roots.store))
      ) {
        return { action: "import", resource: pathToFileURL(p).href, args };
      }
      return { action: "fs.read", resource: p, args };
    }
    case "write":
      return { action: "fs.write", resource: v === null ? "/" : path(v), args };
    case "ffi":
      return { action: "ffi", resource: v === null ? "*" : path(v), args };
    case "net":
      return { action: "net.connect", resource: v ?? "*", args };
    case "env":
      return { action: "env.get", resource: v ?? "*", args };
    case "sys":
      return { action: "sys", resource: v ?? "*", args };
    case "run":
      return { action: "run", resource: v ?? "*", args };
    case "import":
      return { action: "import", resource: v === null ? "*" : `https://${v}/`, args };
  }
}
