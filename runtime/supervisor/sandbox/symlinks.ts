/**
 * Workspaces without the kernel sandbox: a symlink leading out of the workspace could be
 * swapped into a path between the broker's check and Deno's open, so the host refuses such
 * workspaces (see AgentHost.start).
 */
import { join } from "node:path";

/** The first symlink under `root` whose target lies outside `root` (bounded walk), or null. */
export function outwardSymlink(root: string, limit = 100_000): string | null {
  const stack = [root];
  let seen = 0;
  while (stack.length > 0 && seen++ < limit) {
    const dir = stack.pop()!;
    for (const e of Deno.readDirSync(dir)) {
      const p = join(dir, e.name);
      if (e.isSymlink) {
        let real: string;
        try {
          real = Deno.realPathSync(p);
        } catch {
          continue; // dangling: nothing to reach
        }
        if (real !== root && !real.startsWith(root + "/")) return p;
      } else if (e.isDirectory) stack.push(p);
    }
  }
  return null;
}
