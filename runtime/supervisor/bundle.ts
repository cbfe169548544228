/**
 * Bundle an agent's module graph into one file before it starts. Agent processes run with
 * `--no-npm --no-remote --cached-only`, so an agent (or an MCP server) that imports npm
 * packages — an agent framework, the MCP SDK — is bundled by the host first: the host resolves
 * the packages from its own lockfile (`deno bundle`), and the sandboxed process then loads one
 * local file whose every import is still decided by the broker. `@warden/sdk` stays external
 * (the process's import map points it at the SDK); a second copy of the SDK inside the bundle
 * shares the one channel (see sdk/channel.ts).
 */
import { dirname, join, resolve } from "node:path";

/** Where the project's own configuration (and lockfile) lives. */
const PROJECT_CONFIG = new URL("../../deno.json", import.meta.url).pathname;

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

/** Bundle `entry` (a module path or an `npm:` specifier) to `out`; throws with deno's message. */
export async function bundleModule(
  entry: string,
  out: string,
  opts: { deno?: string; config?: string } = {},
): Promise<string> {
  const isFile = !/^(npm|jsr|https?):/.test(entry);
  const config = opts.config ?? (isFile ? configFor(entry) : PROJECT_CONFIG);
  Deno.mkdirSync(dirname(out), { recursive: true });
  if (!isFile) entry = pinned(entry, config);
  const r = await new Deno.Command(opts.deno ?? Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform=deno",
      `--config=${config}`,
      "--frozen",
      "--external=@warden/sdk",
      `--output=${out}`,
      isFile ? resolve(entry) : entry,
    ],
    cwd: dirname(config),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  }).output();
  if (!r.success) {
    const text = new TextDecoder().decode(r.stderr).trim().split("\n")
      .filter((l) => !l.includes("is experimental")).slice(0, 6).join("\n");
    throw new Error(`bundling ${entry} failed: ${text || `deno bundle exited ${r.code}`}`);
  }
  return out;
}
