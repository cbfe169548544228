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
  /**
   * The kernel keeps `cwd` and its ancestors from being renamed or replaced (see
   * `fixesWorkspace`): paths below it are resolved by `realPathUnder`.
   */
  cwdFixed?: boolean;
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

/** Components below a fixed root looked at one by one before handing over to `realPath`. */
const MAX_FIXED_DEPTH = 4;

/**
 * `realPath(path)` for a path under `root`, a real directory (no symlink in it) that the agent
 * can neither rename nor replace, nor any of its ancestors: one `lstat` per component below
 * `root` instead of the real path of the whole path (the kernel re-walks every component from
 * `/`). The first symlink, non-directory in the middle, unexpected error or deep path hands
 * over to `realPath`; a missing component ends the walk (nothing below it exists: the rest is
 * taken as written, as `realPath` does). Equal to `realPath` on every tree
 * (tests/perf/broker_fastpath_test.ts; end to end: tests/perf/broker_symlink_walk_test.ts).
 *
 * Why skipping the components of `root` is safe: the broker's answer is a snapshot in any
 * case: the agent may swap a component below `root` for a symlink right after a full real
 * path too, and the kernel rules bound what that open reaches. What the skip adds is the
 * assumption that `root` and its ancestors stay real directories; it holds only when the
 * kernel (Landlock) gives the agent no write access to the parent of `root` or above (renaming
 * or replacing a directory is an access on its parent), which the host checks before it sets
 * `PathRoots.cwdFixed` (see `fixesWorkspace`). Outside that assumption: only the operator,
 * or another agent whose workspace encloses this one, can move them; such an agent can already
 * rewrite every file of this workspace (no isolation is left to lose), and Landlock's rules
 * hold inodes, not names, so opens stay within what the ring's kernel rules allow. What such a
 * move could do is the window a full real path leaves between check and open, held longer.
 */
export function realPathUnder(root: string, path: string): string {
  const p = normalize(path);
  if (!p.startsWith(root + "/") || p.endsWith("/")) return realPath(path);
  const parts = p.slice(root.length + 1).split("/");
  if (parts.length > MAX_FIXED_DEPTH) return realPath(path);
  let at = root;
  for (let i = 0; i < parts.length; i++) {
    at += "/" + parts[i];
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(at);
    } catch (e) {
      return e instanceof Deno.errors.NotFound ? p : realPath(path);
    }
    if (info.isSymlink || (i < parts.length - 1 && !info.isDirectory)) return realPath(path);
  }
  return p;
}

/**
 * Whether the kernel keeps the agent's workspace `workspace` (a real path) and its ancestors
 * fixed: under Landlock the agent writes only beneath the ring's write roots and `writable`
 * (its cache); none of them may be an ancestor of the workspace (the workspace itself is
 * fine: writing beneath a directory does not rename it). `write: true` opens everything; a
 * `${code}` root (own code files and the SDK) is refused too, conservatively.
 */
export function fixesWorkspace(
  write: boolean | readonly string[],
  workspace: string,
  writable: readonly string[],
): boolean {
  if (write === true) return false;
  const roots = [...(write === false ? [] : write), ...writable];
  return roots.every((r) => {
    if (r === "${workspace}") return true;
    if (!r.startsWith("/")) return false; // `${code}` or anything else: not known to be safe
    const glob = r.search(/[*?[{]/);
    if (glob >= 0) return !workspace.startsWith(r.slice(0, glob)); // what the pattern may match
    let root = r.length > 1 ? r.replace(/\/+$/, "") : r;
    try {
      root = Deno.realPathSync(root); // Landlock holds the inode: compare real paths
    } catch { /* not there: no rule for it */ }
    return root === workspace || !(root === "/" || workspace.startsWith(root + "/"));
  });
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
  const real = roots.cwdFixed ? (q: string) => realPathUnder(roots.cwd, q) : realPath;
  const path = (p: string): string => {
    if (isAbsolute(p)) return real(agentView(p, pid));
    const resolved = real(join(roots.cwd, p));
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
