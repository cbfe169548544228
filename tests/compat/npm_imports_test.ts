/**
 * Install, don't bundle (issue 19): a local agent module importing `npm:` packages runs with
 * them installed in the package store (its packages as published, their own dependency
 * versions, no install scripts), not bundled with Warden's project configuration. Each class
 * the bundler broke has a case here: the agent's own version of a package Warden also uses
 * (zod 3 under Warden's zod 4), and optional native add-ons `require`d inside `try` that are
 * absent (`ssh2`), a package's own files read next to its modules. The store is reused: a second start installs nothing.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { collectRun, describe, newHost } from "../host/helpers.ts";

const AGENT = new URL("../fixtures/compat/npm_agent.js", import.meta.url).pathname;

Deno.test({
  name: "a local agent's npm: imports run installed from the store, at their own versions",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-npm-agent-" }));
    const storeDir = Deno.env.get("WARDEN_TEST_STORE") ?? join(tmp, "store");
    const host = newHost({ storeDir, stateDir: join(tmp, "state") });
    try {
      for (const round of [1, 2]) {
        const ws = join(tmp, `ws${round}`);
        Deno.mkdirSync(ws);
        const handle = await host.start({ module: AGENT, workspace: ws, timeoutMs: 120_000 });
        const run = await collectRun(host, handle);
        const line = run.stdout.split("\n").find((l) => l.startsWith("NPM-AGENT "));
        assertEquals(
          line && JSON.parse(line.slice("NPM-AGENT ".length)),
          {
            zodMajor: 3,
            parsed: 1,
            ssh2Client: "function",
            ssh2Keys: "function",
            ownPackageJson: "3.23.8",
          },
          describe(run),
        );
      }
      // One read-only store directory for the set, holding the packages as published.
      const sets = [...Deno.readDirSync(storeDir)].filter((e) => e.name.startsWith("deps-"));
      assertEquals(sets.length >= 1, true);
      const zod = sets.map((d) => join(storeDir, d.name, "node_modules/zod/package.json"))
        .find((p) => {
          try {
            return JSON.parse(Deno.readTextFileSync(p)).version === "3.23.8";
          } catch {
            return false;
          }
        });
      assertEquals(typeof zod, "string");
      assertEquals(Deno.statSync(zod!).mode! & 0o222, 0, "installed read-only");
    } finally {
      await host.close();
      new Deno.Command("chmod", { args: ["-R", "u+w", tmp] }).outputSync();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
