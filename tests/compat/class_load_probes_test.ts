/**
 * Issue 19's failure classes "a refused environment read kills the program", "`os.hostname()`
 * is refused (the AI SDK reads it at load)", "the agent has no HOME" and "the bundle is rebuilt
 * on every start", against real npm packages that do it at load, unmodified:
 * - `debug` (used by express, the MCP SDK's HTTP server…) enumerates `process.env` and reads
 *   `DEBUG`, `DEBUG_COLORS` at load and `require`s `supports-color` inside `try` (absent);
 * - `@vercel/oidc` (loaded by the AI SDK through `@ai-sdk/gateway`) calls `os.hostname()` at
 *   load for its user agent, and `os.homedir()` for its token directory.
 * The agent runs at ring 2 under the shipped policy with its packages from the package store;
 * a second start of the same agent installs nothing (the store is not touched).
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { collectRun, describe, newHost } from "../host/helpers.ts";
import { canSetHostname } from "../../runtime/supervisor/spawn.ts";

// Versions already in Warden's lockfile (transitive dependencies of `ai` and the MCP SDK).
const AGENT = `// deno-lint-ignore-file
import debug from "npm:debug@4.4.3";
import { getVercelOidcToken } from "npm:@vercel/oidc@3.2.0";
import os from "node:os";
const log = debug("warden:probe");
console.log("LOAD-PROBES " + JSON.stringify({
  debug: typeof log,
  enabled: debug.enabled("warden:probe"),
  oidc: typeof getVercelOidcToken,
  hostname: os.hostname(),
  homedir: os.homedir(),
  cwd: process.cwd(),
}));
`;

/** Every entry of the store, with the inode of each (a reinstall renames a new index in). */
function storeState(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    out.push(`${e.name} ${Deno.statSync(join(dir, e.name)).ino}`);
  }
  return out.sort();
}

Deno.test({
  name:
    "class: real packages probing env, hostname and home at load run at ring 2; starts reuse the store",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-class-probes-" }));
    const storeDir = join(tmp, "store");
    const code = join(tmp, "code");
    Deno.mkdirSync(code);
    const module = join(code, "probes.js");
    Deno.writeTextFileSync(module, AGENT);
    const host = newHost({ storeDir, stateDir: join(tmp, "state") });
    try {
      let after: string[] = [];
      for (const round of [1, 2]) {
        const ws = join(tmp, `ws${round}`);
        Deno.mkdirSync(ws);
        const handle = await host.start({ module, workspace: ws, ring: 2, timeoutMs: 180_000 });
        const run = await collectRun(host, handle);
        const line = run.stdout.split("\n").find((l) => l.startsWith("LOAD-PROBES "));
        assert(line, `the agent died at load:\n${describe(run)}`);
        const got = JSON.parse(line.slice("LOAD-PROBES ".length));
        assertEquals(run.exit.code, 0, describe(run));
        assertEquals([got.debug, got.enabled, got.oidc], ["function", false, "function"]);
        // A home of its own inside the workspace, never the operator's.
        assertEquals(got.homedir, join(ws, ".warden-home"), describe(run));
        // A hostname of its own, never the host's (a UTS namespace where the host can make one).
        if (canSetHostname()) assertEquals(got.hostname === Deno.hostname(), false, got.hostname);
        // The probes were decided and audited as unset (no trust cost), not allowed.
        const probe = run.audit.find((e) =>
          e.path === "broker" && e.action === "env.get" && e.resource === "DEBUG"
        );
        assertEquals([probe?.effect, probe?.unset], ["deny", true], describe(run));
        if (round === 1) {
          after = storeState(storeDir);
          assert(after.some((e) => e.startsWith("deps-")), after.join("\n"));
        } else {
          // Reused: nothing installed, renamed or left behind by the second start.
          assertEquals(storeState(storeDir), after);
        }
      }
    } finally {
      await host.close();
      new Deno.Command("chmod", { args: ["-R", "u+w", tmp] }).outputSync();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
