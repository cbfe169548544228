/**
 * Compatible file refusals through named ESM imports (issue 19): `import { existsSync } from
 * "node:fs"`, namespace imports, `node:fs/promises`, `fs`/`fs/promises` in npm packages, ES
 * modules loaded by `require` — the bindings no patch of the module object reaches — answer a
 * refused path like the OS: `existsSync` false, an `EACCES` error with the broker's refusal as
 * `cause`. Allowed paths keep working through the same bindings, and every probe is still
 * the broker's: refused and audited as a deny of that path.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { collectRun, describe, newHost, type Run } from "../host/helpers.ts";
import * as fsShim from "../../runtime/supervisor/node_fs_shim.ts";
import * as fspShim from "../../runtime/supervisor/node_fs_promises_shim.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

/** A workspace beside a refused file outside it (`refused` in its params.json). */
function scene(tmp: string): { ws: string; refused: string } {
  const refused = join(tmp, "outside", "config.json");
  Deno.mkdirSync(join(tmp, "outside"));
  Deno.writeTextFileSync(refused, "{}");
  const ws = join(tmp, "ws");
  Deno.mkdirSync(ws);
  Deno.writeTextFileSync(join(ws, "params.json"), JSON.stringify({ refused }));
  return { ws, refused };
}

function lines(run: Run, prefix: string): Record<string, string> {
  const by: Record<string, string> = {};
  for (const line of run.stdout.split("\n")) {
    if (!line.startsWith(`${prefix} `)) continue;
    const { step, value } = JSON.parse(line.slice(prefix.length + 1));
    by[step] = value;
  }
  return by;
}

/** The refusal as the OS would answer it. */
const eacces = (syscall: string, path: string) =>
  `threw Error EACCES -13 ${syscall} ${path} cause=NotCapable`;

function deniedOnly(run: Run, refused: string, atLeast: number): void {
  const denied = run.audit.filter((e) =>
    e.path === "broker" && e.resource === refused && e.effect === "deny"
  );
  assertEquals(denied.length >= atLeast, true, describe(run));
  assertEquals(run.audit.some((e) => e.resource === refused && e.effect === "allow"), false);
}

Deno.test("the named-import shims export exactly what Deno's node:fs modules export", async () => {
  const names = (o: object) => Object.keys(o).sort();
  assertEquals(names(fsShim), names(await import("node:fs")));
  assertEquals(names(fspShim), names(await import("node:fs/promises")));
});

for (const bundle of [false, true]) {
  Deno.test(`a local agent's named node:fs imports answer a refusal like the OS${bundle ? " (bundled)" : ""}`, async () => {
    const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-fsnamed-" }));
    const { ws, refused } = scene(tmp);
    const missing = join(tmp, "outside", "absent.json");
    Deno.writeTextFileSync(join(ws, "params.json"), JSON.stringify({ refused, missing }));
    Deno.symlinkSync(refused, join(ws, "link.json"));
    const host = newHost();
    try {
      const module = join(FIXTURES, "compat_fs", "named_agent.ts");
      const handle = await host.start({ module, workspace: ws, timeoutMs: 120_000, bundle });
      const run = await collectRun(host, handle);
      assertEquals(run.stdout.includes("FS-NAMED-DONE"), true, describe(run));
      assertEquals(lines(run, "FS-NAMED"), {
        "existsSync": "false",
        "readFileSync": eacces("open", refused),
        "statSync": eacces("stat", refused),
        "ns.existsSync": "false",
        "ns.readFileSync": eacces("open", refused),
        "promises.stat": eacces("stat", refused),
        "fs/promises readFile": eacces("open", refused),
        "fs/promises stat": eacces("stat", refused),
        "nsp.access": eacces("access", refused),
        "dynamic import existsSync": "false",
        "dynamic import readFileSync": eacces("open", refused),
        "missing existsSync": "false",
        "missing readFileSync": eacces("open", missing),
        "link readFileSync": eacces("open", refused),
        "link existsSync": "false",
        "require('fs').existsSync": "false",
        "same functions": "true",
        "workspace existsSync": "true",
        "workspace statSync": "true",
        "workspace write+read": "hello",
        "workspace fs/promises": "world",
        "workspace stream": "hello",
        "workspace readdir": "true",
      }, describe(run));
      deniedOnly(run, refused, 12);
    } finally {
      await host.close();
      await Deno.remove(tmp, { recursive: true });
    }
  });
}

Deno.test({
  name:
    "an npm-shaped package's fs imports (ESM by name, CommonJS, require of ESM) answer like the OS",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-fspkg-" }));
    const { ws, refused } = scene(tmp);
    // The package as npm lays it out: its dependencies in node_modules beside it.
    const pkg = join(tmp, "pkg");
    const src = join(FIXTURES, "compat_fs_pkg");
    Deno.mkdirSync(join(pkg, "node_modules"), { recursive: true });
    for (const f of ["package.json", "index.js"]) Deno.copyFileSync(join(src, f), join(pkg, f));
    for (const dep of Deno.readDirSync(join(src, "deps"))) {
      Deno.mkdirSync(join(pkg, "node_modules", dep.name));
      for (const f of Deno.readDirSync(join(src, "deps", dep.name))) {
        Deno.copyFileSync(
          join(src, "deps", dep.name, f.name),
          join(pkg, "node_modules", dep.name, f.name),
        );
      }
    }
    const host = newHost({ stateDir: join(tmp, "state") });
    try {
      const handle = await host.start({
        module: join(pkg, "index.js"),
        workspace: ws,
        timeoutMs: 60_000,
      });
      const run = await collectRun(host, handle);
      assertEquals(run.stdout.includes("FS-PKG-DONE"), true, describe(run));
      assertEquals(lines(run, "FS-PKG"), {
        "esm existsSync": "false",
        "esm readFileSync": eacces("open", refused),
        "esm statSync": eacces("stat", refused),
        "esm namespace existsSync": "false",
        "esm namespace openSync": eacces("open", refused),
        "esm fs/promises stat": eacces("stat", refused),
        "esm node:fs/promises readFile": eacces("open", refused),
        "esm fs/promises default access": eacces("access", refused),
        "cjs require('fs').existsSync": "false",
        "cjs destructured existsSync": "false",
        "cjs destructured readFileSync": eacces("open", refused),
        "cjs require(esm) existsSync": "false",
        "cjs require(esm) readFileSync": eacces("open", refused),
        "cjs require(fresh esm) existsSync": "false",
        "cjs require(fresh esm) readFileSync": eacces("open", refused),
        "esm workspace": "true",
        "cjs workspace": "true",
      }, describe(run));
      deniedOnly(run, refused, 10);
    } finally {
      await host.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
