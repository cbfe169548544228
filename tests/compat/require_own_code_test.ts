/**
 * `require` in a plain local agent (issue 19). Node's resolution of a relative request first
 * stats the requiring module's directory, which the module-graph rule refuses (a directory is
 * not own code), so `createRequire(import.meta.url)("./x.cjs")` failed. The bootstrap's
 * node_require_compat.ts skips that stat; every file require touches is still the broker's.
 * Hostile cases first: a require that climbs out of the code tree, a computed or absolute
 * path outside, a symlink in the code tree pointing outside, a directory whose package.json
 * `main` points outside, a directory outside, the code directory itself (no listing).
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { collectRun, describe, newHost, type Run } from "../host/helpers.ts";
import { loadPolicy } from "../../runtime/policy/loader.ts";
import { absoluteRequest } from "../../runtime/supervisor/node_require_compat.ts";
import { resolve } from "node:path";

const FIXTURE = new URL("../fixtures/compat_require/", import.meta.url).pathname;
const MARKER = "H9-REQUIRE-SECRET-7f3a";

function copyTree(from: string, to: string): void {
  Deno.mkdirSync(to, { recursive: true });
  for (const e of Deno.readDirSync(from)) {
    if (e.isDirectory) copyTree(join(from, e.name), join(to, e.name));
    else Deno.copyFileSync(join(from, e.name), join(to, e.name));
  }
}

function steps(run: Run): Record<string, string> {
  const by: Record<string, string> = {};
  for (const line of run.stdout.split("\n")) {
    if (!line.startsWith("REQ ")) continue;
    const { step, value } = JSON.parse(line.slice(4));
    by[step] = value;
  }
  return by;
}

Deno.test("a relative require is sent on as the absolute path it names, nothing else", () => {
  assertEquals(absoluteRequest("./lib/y.cjs", ["/code"], resolve), "/code/lib/y.cjs");
  assertEquals(absoluteRequest("../x", ["/code/a"], resolve), "/code/x");
  assertEquals(absoluteRequest("./lib/", ["/code"], resolve), "/code/lib/");
  assertEquals(absoluteRequest(".", ["/code"], resolve), "/code");
  assertEquals(absoluteRequest("../../../../etc/passwd", ["/code"], resolve), "/etc/passwd");
  // Module names, several lookup paths and relative lookup paths go through unchanged.
  assertEquals(absoluteRequest("lodash", ["/code"], resolve), null);
  assertEquals(absoluteRequest(".hidden", ["/code"], resolve), null);
  assertEquals(absoluteRequest("./x", ["/a", "/b"], resolve), null);
  assertEquals(absoluteRequest("./x", ["a"], resolve), null);
  assertEquals(absoluteRequest("./x", undefined, resolve), null);
});

Deno.test({
  name: "a local agent requires its own files; nothing outside its module graph, no listing",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-require-" }));
    const code = join(tmp, "code");
    copyTree(FIXTURE, code);
    const outside = join(tmp, "outside");
    Deno.mkdirSync(join(outside, "dir"), { recursive: true });
    const secretSrc = `module.exports = { marker: "${MARKER}" }; console.log("${MARKER}");\n`;
    for (const f of ["secret.cjs", "evil.cjs", "dir/index.js"]) {
      Deno.writeTextFileSync(join(outside, f), secretSrc);
    }
    Deno.symlinkSync(join(outside, "secret.cjs"), join(code, "lib", "link.cjs"));
    Deno.symlinkSync(join(outside, "secret.cjs"), join(code, "lib", "linkfile.js"));
    Deno.symlinkSync(join(outside, "dir"), join(code, "lib", "linkdir"));
    const ws = join(tmp, "ws");
    Deno.mkdirSync(ws);
    Deno.writeTextFileSync(
      join(ws, "params.json"),
      JSON.stringify({
        secretRel: "../outside/secret.cjs",
        secret: join(outside, "secret.cjs"),
        outsideDir: join(outside, "dir"),
      }),
    );
    // The operator allows one data file next to the code (a data import is not own code).
    const extra = join(tmp, "data.yaml");
    Deno.writeTextFileSync(
      extra,
      [
        "apiVersion: warden/v1",
        "kind: Policy",
        "name: require-data",
        "rules:",
        "  - id: agent-data",
        "    effect: allow",
        "    action: import",
        `    resource: ${JSON.stringify(`file://${code}/lib/data.json`)}`,
        "",
      ].join("\n"),
    );
    const policy = loadPolicy(
      [new URL("../../policies/agents.yaml", import.meta.url).pathname, extra],
      { builtin: true },
    );
    const host = newHost({ policy, stateDir: join(tmp, "state") });
    try {
      const handle = await host.start({
        module: join(code, "agent.ts"),
        workspace: ws,
        timeoutMs: 120_000,
      });
      const run = await collectRun(host, handle);
      assertEquals(run.stdout.includes("REQ-DONE"), true, describe(run));
      const refused = "threw NotCapable EACCES";
      assertEquals(steps(run), {
        "own mjs": "x-mjs",
        "own cjs": "y-cjs",
        "own cjs requires sibling": "z-cjs",
        "require.resolve": "true",
        "no extension": "w-js",
        "directory index": "pkgdir-index",
        "index requires parent's file": "w-js",
        "package.json main": "mainpkg-main",
        "allowed data": "data-json",
        "refused data": refused,
        "climb out": refused,
        "computed outside": refused,
        "absolute outside": refused,
        "symlink outside": refused,
        "main outside": refused,
        "directory outside": refused,
        "symlinked directory outside": refused,
        "symlink outside, no extension": refused,
        "data without extension": refused,
        "missing": refused,
        "own directory": refused,
        "list code dir (node:fs)": "threw Error EACCES",
        "list code dir (Deno)": refused,
      }, describe(run));
      assertEquals(run.stdout.includes(MARKER) || run.stderr.includes(MARKER), false);
      // Nothing outside the code tree and no directory of it was allowed, to the broker or to
      // the host's graph decisions.
      const dirs = new Set(
        ["", "lib", "pkgout", "lib/pkgdir", "lib/mainpkg", "lib/linkdir"].map((d) => join(code, d)),
      );
      const leaked = run.audit.filter((e) => {
        if (e.effect !== "allow") return false;
        const r = e.resource.startsWith("file://") ? e.resource.slice(7) : e.resource;
        return r.startsWith(outside) || dirs.has(r) || r.endsWith("/other.json");
      });
      assertEquals(leaked, [], describe(run));
      for (const r of [join(outside, "secret.cjs"), join(outside, "dir")]) {
        assertEquals(
          run.audit.some((e) => e.path === "broker" && e.resource === r && e.effect === "deny"),
          true,
          `${r} refused by the broker\n${describe(run)}`,
        );
      }
    } finally {
      await host.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
