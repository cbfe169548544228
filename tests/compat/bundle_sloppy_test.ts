/**
 * Issue 19's "some packages bundle into invalid JavaScript" class. A bundle is one ES module,
 * and ES modules are strict mode, but old npm packages are sloppy-mode CommonJS: a `with`
 * statement or `delete` of a plain variable refuses the bundle (a strict-mode syntax error),
 * an assignment to an undeclared variable or `arguments.callee` bundles but throws when it runs.
 * By default (install, not bundle) the same package runs as Node runs it; under `bundle: true`
 * each failure is one line naming the bundle problem, never a stack trace.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { collectRun, describe, newHost } from "../host/helpers.ts";
import { compilePolicySet } from "../../governance/mod.ts";
import { BUILTIN_POLICY } from "../../runtime/policy/loader.ts";
import { bundleFailure } from "../../runtime/supervisor/bundle.ts";
import { uncaught } from "../../runtime/mcp/gateway.ts";

const LEGACY = new URL("../fixtures/compat_pkg_legacy/", import.meta.url).pathname;
const CLI = join(LEGACY, "lib/cli.js");

/** The bundler reads the package's own files (its package.json) only when a rule allows it. */
const POLICY = compilePolicySet([
  { path: BUILTIN_POLICY, text: Deno.readTextFileSync(BUILTIN_POLICY) },
  {
    path: "legacy.yaml",
    text: `apiVersion: warden/v1
kind: Policy
name: legacy
default: deny
rules:
  - { id: pkg, effect: allow, action: [import, fs.read], when: { path: { within: ["${LEGACY}"] } } }
`,
  },
]);

Deno.test({
  name: "sloppy-mode CommonJS with `with` and `delete x` runs installed, and refuses to bundle",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tmp = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-bundle-sloppy-" }));
    const host = newHost({ policy: POLICY, stateDir: join(tmp, "state") });
    try {
      const ws = join(tmp, "ws");
      Deno.mkdirSync(ws);
      const handle = await host.start({ module: CLI, workspace: ws, timeoutMs: 60_000 });
      assertEquals(handle.name, "compat-pkg-legacy", "named by its package, not cli");
      const run = await collectRun(host, handle);
      const line = run.stdout.split("\n").find((l) => l.startsWith("LEGACY "));
      assertEquals(
        line && JSON.parse(line.slice("LEGACY ".length)),
        { text: "Hello, Warden!", version: "0.3.1" },
        describe(run),
      );
      let error = "";
      await host.start({ module: CLI, workspace: ws, bundle: true }).then(
        (h) => h.kill("should not start"),
        (e) => (error = (e as Error).message),
      );
      assert(!error.includes("\n"), `one line: ${error}`);
      assert(/render\.js:\d+:\d+/.test(error), `names the file and place: ${error}`);
      assert(/strict mode/.test(error), `names the strict-mode problem: ${error}`);
      assert(/without bundl/.test(error), `says what to do: ${error}`);
    } finally {
      await host.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("bundleFailure: deno bundle's errors as one line with file, place and cause", () => {
  const strict =
    `error: Delete of a bare identifier cannot be used with the "esm" output format due to strict mode
    at file:///srv/pkg/lib/a%20b.js:2:7

error: bundling failed

Stack backtrace:
   0: <unknown>`;
  assertEquals(
    bundleFailure(strict),
    `/srv/pkg/lib/a b.js:2:7: Delete of a bare identifier cannot be used with the "esm" output ` +
      `format due to strict mode (a bundle is one strict-mode ES module, and this is ` +
      `sloppy-mode code: run it without bundling, the default)`,
  );
  const denied = `error: Import 'file:///srv/pkg/lib/render.js' failed.
    0: Permission denied (os error 13)
    at file:///srv/pkg/lib/cli.js:2:22
error: bundling failed`;
  assertEquals(
    bundleFailure(denied),
    `/srv/pkg/lib/cli.js:2:22: Import 'file:///srv/pkg/lib/render.js' failed.: ` +
      `Permission denied (os error 13)`,
  );
  assertEquals(
    uncaught("error: Uncaught (in promise) ReferenceError: x is not defined"),
    "ReferenceError: x is not defined",
  );
  assertEquals(uncaught("\x1b[31merror\x1b[0m: Uncaught TypeError: boom"), "TypeError: boom");
  assertEquals(uncaught("    at file:///x.js:1:1"), null);
});
