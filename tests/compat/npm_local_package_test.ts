/**
 * A local Node program (issue 19: `node ./x/dist/index.js`) runs in place from its package
 * directory under `deno task run` as under the MCP gateway (store.ts `localPackage`): an ES
 * module package's bare imports resolve from its own node_modules, its name is its package's.
 * Attack first: a symlink in the package leading to a file outside it does not widen what
 * the program may read — the package tree is exposed, not what its links point at.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { collectRun, describe, newHost } from "../host/helpers.ts";
import { localPackage } from "../../runtime/supervisor/store.ts";

function write(path: string, text: string): void {
  Deno.mkdirSync(join(path, ".."), { recursive: true });
  Deno.writeTextFileSync(path, text);
}

/** An ES module package with its own `shared` dependency and a link to a secret outside it. */
function esmPackage(tmp: string): string {
  const pkg = join(tmp, "esm-server");
  write(join(pkg, "package.json"), JSON.stringify({ name: "@acme/esm-server", type: "module" }));
  write(
    join(pkg, "node_modules/shared/package.json"),
    JSON.stringify({ name: "shared", version: "1.2.3", type: "module", main: "index.js" }),
  );
  write(join(pkg, "node_modules/shared/index.js"), `export const version = "1.2.3";\n`);
  write(join(tmp, "secret.txt"), "TOP-SECRET\n");
  Deno.symlinkSync(join(tmp, "secret.txt"), join(pkg, "leak.txt"));
  write(
    join(pkg, "dist/index.js"),
    `import { version } from "shared";
import { readFileSync } from "node:fs";
const own = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).name;
let leak;
try {
  leak = readFileSync(new URL("../leak.txt", import.meta.url), "utf8").trim();
} catch (e) {
  leak = "refused: " + e.name;
}
console.log("ESM-PKG " + JSON.stringify({ version, own, leak }));
`,
  );
  return join(pkg, "dist/index.js");
}

Deno.test({
  name: "a local ES module package runs in place with its own node_modules; links do not leak",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tmp = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-local-pkg-" }));
    const host = newHost({ stateDir: join(tmp, "state") });
    try {
      const entry = esmPackage(tmp);
      const found = localPackage(entry);
      assertEquals(found?.root, join(tmp, "esm-server"));
      assertEquals(found?.name, "@acme/esm-server");
      assert(found?.digest.startsWith("sha256:"));
      const ws = join(tmp, "ws");
      Deno.mkdirSync(ws);
      const handle = await host.start({ module: entry, workspace: ws, timeoutMs: 60_000 });
      assertEquals(handle.name, "esm-server");
      const run = await collectRun(host, handle);
      const line = run.stdout.split("\n").find((l) => l.startsWith("ESM-PKG "));
      const got = line && JSON.parse(line.slice("ESM-PKG ".length));
      assertEquals(got?.version, "1.2.3", describe(run));
      assertEquals(got?.own, "@acme/esm-server");
      assert(
        String(got?.leak).startsWith("refused"),
        `the link's target stays closed: ${got?.leak}`,
      );
      assert(!run.stdout.includes("TOP-SECRET"));
    } finally {
      await host.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("only a module under a package.json (no deno.json) is a local Node program", () => {
  const tmp = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-local-pkg-" }));
  try {
    write(join(tmp, "deno-app/deno.json"), "{}");
    write(join(tmp, "deno-app/main.js"), "");
    write(join(tmp, "plain/main.ts"), "");
    write(join(tmp, "ts-pkg/package.json"), "{}");
    write(join(tmp, "ts-pkg/src/main.ts"), "");
    write(join(tmp, "bad/package.json"), "{ not json");
    write(join(tmp, "bad/main.js"), "");
    assertEquals(localPackage(join(tmp, "deno-app/main.js")), null);
    assertEquals(localPackage(join(tmp, "plain/main.ts")), null);
    assertEquals(localPackage(join(tmp, "ts-pkg/src/main.ts")), null, "TS without node_modules");
    Deno.mkdirSync(join(tmp, "ts-pkg/node_modules"));
    assertEquals(localPackage(join(tmp, "ts-pkg/src/main.ts"))?.root, join(tmp, "ts-pkg"));
    let error = "";
    try {
      localPackage(join(tmp, "bad/main.js"));
    } catch (e) {
      error = (e as Error).message;
    }
    assert(error.includes("bad/package.json: not JSON"), error);
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test({
  name: "attack: a package.json above the host's own state or a home is not a package directory",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tmp = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-local-pkg-" }));
    // A stray package.json at the top of a tree holding the host's state (and a "home").
    write(join(tmp, "package.json"), JSON.stringify({ name: "stray" }));
    write(join(tmp, "home/.ssh/id_ed25519"), "PRIVATE KEY\n");
    write(join(tmp, "tools/server.js"), `console.log("RAN");\n`);
    const entry = join(tmp, "tools/server.js");
    let error = "";
    try {
      localPackage(entry, { protect: [join(tmp, "home")] });
    } catch (e) {
      error = (e as Error).message;
    }
    assert(error.includes(`holds ${join(tmp, "home")}`), error);
    const host = newHost({ stateDir: join(tmp, "state") });
    try {
      let refused = "";
      const ws = Deno.makeTempDirSync({ prefix: "warden-local-pkg-ws-" });
      await host.start({ module: entry, workspace: ws }).then(
        (h) => h.kill("should not start"),
        (e) => (refused = (e as Error).message),
      );
      Deno.removeSync(ws, { recursive: true });
      assert(refused.includes(`holds ${join(tmp, "state")}`), refused);
      assert(!refused.includes("\n"), refused);
    } finally {
      await host.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
