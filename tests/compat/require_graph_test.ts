/**
 * Require resolution in the module graph (runtime/supervisor/graph.ts, require_resolve.ts):
 * literal relative requests `deno info` cannot load as named are resolved as Node's `require`
 * does, only to own-code modules of the entry's tree; the package.json files Deno reads
 * itself next to own code are named for the kernel, never through a symlink; a candidate that
 * appears later makes the graph be resolved again.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { join } from "node:path";
import { resolveGraph } from "../../runtime/supervisor/graph.ts";
import { resolveRequire } from "../../runtime/supervisor/require_resolve.ts";

const past = (s: number) => new Date(Date.now() - s * 1000);

function tree(files: Record<string, string>): string {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-reqgraph-" }));
  for (const [f, text] of Object.entries(files)) {
    Deno.mkdirSync(join(dir, f, ".."), { recursive: true });
    Deno.writeTextFileSync(join(dir, f), text);
    Deno.utimeSync(join(dir, f), past(60), past(60));
  }
  return dir;
}

function options(dir: string, codeDir = join(dir, "code")) {
  return {
    deno: Deno.execPath(),
    codeDir,
    sdk: Deno.realPathSync(new URL("../../sdk/", import.meta.url).pathname),
    flags: ["--no-config", "--no-lock", "--no-remote", "--no-npm"],
    cwd: dir,
    denoDir: join(dir, ".deno"),
  };
}

Deno.test("resolveRequire follows Node: file, extensions, package.json main, index", () => {
  const dir = tree({
    "a/y.js": "",
    "a/both": "",
    "a/both.js": "",
    "a/p/package.json": '{ "main": "lib/start" }',
    "a/p/lib/start.cjs": "",
    "a/q/index.js": "",
    "a/r/package.json": '{ "main": "missing.js" }',
    "a/r/index.js": "",
    "a/bad/package.json": "{ not json",
    "a/out/package.json": '{ "main": "../../o/x.js" }',
    "o/x.js": "",
    "o/index.js": "",
    "o/pkg/package.json": '{ "main": "../../a/y.js" }',
  });
  try {
    Deno.symlinkSync(join(dir, "o"), join(dir, "a/ln"));
    const a = join(dir, "a");
    const r = (p: string, slash = false) => resolveRequire(join(dir, p), a, slash).file;
    assertEquals(r("a/y"), join(dir, "a/y.js"));
    assertEquals(r("a/both"), join(dir, "a/both")); // the file itself comes first
    assertEquals(r("a/p"), join(dir, "a/p/lib/start.cjs"));
    assertEquals(r("a/q"), join(dir, "a/q/index.js"));
    assertEquals(r("a/q", true), join(dir, "a/q/index.js"));
    assertEquals(r("a/y", true), null); // a trailing slash names a directory
    assertEquals(r("a/r"), join(dir, "a/r/index.js")); // a main that is not there: the index
    assertEquals(r("a/bad"), null);
    assertEquals(r("a/none"), null);
    // Nothing outside the root is looked at: a main pointing out, a symlink out, a package
    // outside whose main points back in.
    assertEquals(r("a/out"), null);
    assertEquals(r("a/ln"), null);
    const back = resolveRequire(join(dir, "o/pkg"), a);
    assertEquals(back, { file: null, probed: [] });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a require resolves only to own code of the entry's tree; manifests never via symlinks", async () => {
  const dir = tree({
    "code/main.ts": [
      'import { createRequire } from "node:module";',
      "const require = createRequire(import.meta.url);",
      'require("./lib/w");',
      'require("./pkg");',
      'require("./out");',
      'require("./linked");',
      'require("./data");',
      'require("./nothing");',
      'require("../outside/back");',
      "",
    ].join("\n"),
    "code/lib/w.js": 'module.exports = require("./v");\n',
    "code/lib/v.js": "module.exports = 1;\n",
    "code/pkg/package.json": '{ "main": "./start" }',
    "code/pkg/start.js": "module.exports = 2;\n",
    "code/out/package.json": '{ "main": "../../outside/evil.js" }',
    "code/data.json": "{}",
    "outside/evil.js": "module.exports = 3;\n",
    "outside/secret.json": '{ "secret": true }',
    "outside/linked/index.js": "module.exports = 4;\n",
    "outside/back/package.json": '{ "main": "../../code/lib/v.js" }',
  });
  try {
    const code = join(dir, "code");
    Deno.symlinkSync(join(dir, "outside/linked"), join(code, "linked"));
    Deno.symlinkSync(join(dir, "outside/secret.json"), join(code, "lib/package.json"));
    const g = await resolveGraph(join(code, "main.ts"), options(dir));
    assertEquals(g.requires, {
      [join(code, "lib/w")]: join(code, "lib/w.js"),
      [join(code, "lib/v")]: join(code, "lib/v.js"),
      [join(code, "pkg")]: join(code, "pkg/start.js"),
    });
    for (const f of ["main.ts", "lib/w.js", "lib/v.js", "pkg/start.js"]) {
      assert(g.code.includes(join(code, f)), `${f} is own code: ${g.code}`);
    }
    for (const f of ["outside/evil.js", "outside/linked/index.js"]) {
      assert(!g.code.includes(join(dir, f)), `${f} is not own code`);
    }
    // lib/package.json is a symlink to a file outside: never named for the kernel.
    assertEquals(g.manifests, [join(code, "pkg/package.json")]);
    // Requests that resolved to nothing own stay in `other`, decided (refused) as before.
    assert(g.other.includes(join(code, "nothing")), String(g.other));
    assert(g.other.includes(join(code, "data")), String(g.other));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a require candidate that appears later makes the graph be resolved again", async () => {
  const dir = tree({
    "code/main.ts": [
      'import { createRequire } from "node:module";',
      "const require = createRequire(import.meta.url);",
      'require("./y");',
      "",
    ].join("\n"),
    "code/y.js": "module.exports = 1;\n",
  });
  try {
    const code = join(dir, "code");
    const o = options(dir);
    const g1 = await resolveGraph(join(code, "main.ts"), o);
    assertEquals(g1.requires, { [join(code, "y")]: join(code, "y.js") });
    // `y` itself comes before `y.js` in Node's search: once it exists, it is what loads.
    Deno.writeTextFileSync(join(code, "y"), "module.exports = 2;\n");
    Deno.utimeSync(join(code, "y"), past(60), past(60));
    const g2 = await resolveGraph(join(code, "main.ts"), o);
    assertEquals(g2.requires, {}, "y exists now: loaded as named, decided by deno info");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a require never makes a module of the agent's workspace own code", async () => {
  const dir = tree({
    "code/main.ts": [
      'import { createRequire } from "node:module";',
      "const require = createRequire(import.meta.url);",
      'require("./ws/helper");',
      "",
    ].join("\n"),
    "code/ws/helper.js": "module.exports = 1;\n",
  });
  try {
    const code = join(dir, "code");
    const helper = join(code, "ws/helper.js");
    const inWs = await resolveGraph(join(code, "main.ts"), {
      ...options(dir),
      workspace: join(code, "ws"),
    });
    assertEquals(inWs.requires, {});
    assert(!inWs.code.includes(helper), String(inWs.code));
    // The same tree with the workspace elsewhere: not served from the cache, the module joins.
    const elsewhere = await resolveGraph(join(code, "main.ts"), {
      ...options(dir),
      workspace: join(dir, "other-ws"),
    });
    assertEquals(elsewhere.requires, { [join(code, "ws/helper")]: helper });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
