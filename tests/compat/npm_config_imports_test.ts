/**
 * A local Deno module run unbundled (issue 19: install, don't bundle — the MCP gateway's default
 * for local servers too) resolves its bare names as its own `deno.json` maps them to exact
 * `npm:` versions (bundle.ts `configNpmImports`), installed in the package store: a server
 * whose configuration says zod 3 gets zod 3, not Warden's zod 4. Ranges and file mappings are
 * not taken over (the lockfile would have decided them): such a name does not resolve.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { collectRun, describe, newHost } from "../host/helpers.ts";
import { configNpmImports } from "../../runtime/supervisor/bundle.ts";
import { importMapJson } from "../../runtime/supervisor/launch.ts";

Deno.test("configNpmImports takes exact npm: mappings of the nearest deno.json only", () => {
  const tmp = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-cfg-imports-" }));
  try {
    Deno.mkdirSync(join(tmp, "src"));
    Deno.writeTextFileSync(
      join(tmp, "deno.json"),
      JSON.stringify({
        imports: {
          "zod": "npm:zod@3.23.8",
          "sdk/": "npm:/@modelcontextprotocol/sdk@1.32.2/",
          "ranged": "npm:left-pad@^1.3.0",
          "local": "./src/local.ts",
          "remote": "https://example.com/x.ts",
          "npm:zod": "npm:zod@3.23.8",
        },
      }),
    );
    assertEquals(configNpmImports(join(tmp, "src/main.ts")), {
      "zod": "npm:zod@3.23.8",
      // Deno's implicit subpath mapping of a bare entry, made explicit for the import map.
      "zod/": "npm:/zod@3.23.8/",
      "sdk/": "npm:/@modelcontextprotocol/sdk@1.32.2/",
    });
    // Attack: a configuration cannot point the SDK name, or a subpath of it, at a package of
    // its choosing.
    const map = JSON.parse(
      importMapJson({
        "@warden/sdk": "npm:evil-sdk@1.0.0",
        "@warden/sdk/": "npm:/evil-sdk@1.0.0/",
      }),
    );
    assert(map.imports["@warden/sdk"].startsWith("file://"), map.imports["@warden/sdk"]);
    assert(!("@warden/sdk/" in map.imports), JSON.stringify(map.imports));
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test({
  name: "a local Deno module gets the npm: versions its own deno.json names, installed",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tmp = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-cfg-imports-" }));
    const storeDir = Deno.env.get("WARDEN_TEST_STORE") ?? join(tmp, "store");
    const host = newHost({ storeDir, stateDir: join(tmp, "state") });
    try {
      const app = join(tmp, "app");
      Deno.mkdirSync(app);
      Deno.writeTextFileSync(
        join(app, "deno.json"),
        JSON.stringify({ imports: { zod: "npm:zod@3.23.8" } }),
      );
      Deno.writeTextFileSync(
        join(app, "main.js"),
        `import { z } from "zod";
console.log("CFG " + JSON.stringify({
  zodMajor: typeof z.toJSONSchema === "function" ? 4 : 3,
  parsed: z.object({ n: z.number() }).parse({ n: 7 }).n,
}));
`,
      );
      const ws = join(tmp, "ws");
      Deno.mkdirSync(ws);
      const handle = await host.start({
        module: join(app, "main.js"),
        workspace: ws,
        timeoutMs: 120_000,
      });
      const run = await collectRun(host, handle);
      const line = run.stdout.split("\n").find((l) => l.startsWith("CFG "));
      assert(line, describe(run));
      assertEquals(JSON.parse(line.slice(4)), { zodMajor: 3, parsed: 7 }, describe(run));
    } finally {
      await host.close();
      new Deno.Command("chmod", { args: ["-R", "u+w", tmp] }).outputSync();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
