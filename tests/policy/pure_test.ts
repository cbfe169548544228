/**
 * governance/ is pure: importing any of it needs no permission (no file, env or network read at
 * import time), and no clock or randomness is read inside it; the runtime injects both, and the
 * Cedar engine.
 */
import { join, relative } from "node:path";
import { compilePolicy, formatProblem, PolicyError } from "../../governance/mod.ts";
import { assert, assertEquals, assertMatch } from "./asserts.ts";
import { runScript } from "./run_script.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const GOVERNANCE = join(ROOT, "governance");

function sources(dir: string): string[] {
  return [...Deno.readDirSync(dir)].flatMap((e) =>
    e.isDirectory
      ? sources(join(dir, e.name))
      : e.isFile && e.name.endsWith(".ts")
      ? [join(dir, e.name)]
      : []
  ).sort();
}

const POLICY = `apiVersion: warden/v1
kind: Policy
name: p
rules:
  - { id: r, effect: allow, action: fs.read, when: { resource: { glob: "/w/**" } } }
`;

Deno.test("governance: every module imports with no permission, and a YAML policy compiles", async () => {
  const files = sources(GOVERNANCE);
  assert(files.length > 20, "governance sources found");
  const script = [
    ...files.map((f) => `import ${JSON.stringify(`file://${f}`)};`),
    `import { compilePolicy } from ${JSON.stringify(`file://${GOVERNANCE}/mod.ts`)};`,
    `const p = compilePolicy(${JSON.stringify(POLICY)});`,
    `const d = p.evaluate({ agent: { id: "a", ring: 2 }, action: "fs.read", resource: "/w/a" });`,
    `console.log(d.effect);`,
  ].join("\n");
  // No read, write, net, run, ffi or sys permission. The `yaml` dependency's node build peeks at
  // two debug variables while parsing (not at import), so exactly those two are granted.
  const out = await runScript(script, ["--allow-env=LOG_TOKENS,LOG_STREAM"]);
  assertEquals(out.code, 0, `the import needed a permission:\n${out.stderr}`);
  assertEquals(out.stdout.trim(), "allow");
});

Deno.test("governance: a Cedar policy without an injected engine is one clear PolicyError", () => {
  const text = 'permit (principal, action == Action::"fs.read", resource);\n';
  for (const options of [{ path: "p.cedar" }, { path: "p.txt", format: "cedar" as const }]) {
    let problems: string[] = [];
    try {
      compilePolicy(text, options);
    } catch (e) {
      assert(e instanceof PolicyError, `a PolicyError, not ${e}`);
      problems = e.problems.map(formatProblem);
    }
    assertEquals(problems.length, 1, `one problem for ${options.path}`);
    assertMatch(problems[0], /^p\.(cedar|txt):1:1: cedar: no Cedar engine was given/);
  }
});

Deno.test("governance: no source reads a clock, randomness, Deno.* or the network", () => {
  const banned: [RegExp, string][] = [
    [/\bMath\.random\b/, "Math.random"],
    [/\bgetRandomValues\b/, "crypto.getRandomValues"],
    [/\brandomUUID\b/, "crypto.randomUUID"],
    [/\bgenerateKey\b/, "key generation"],
    [/\bDate\.now\b/, "Date.now"],
    [/\bperformance\.now\b/, "performance.now"],
    [/\bnew\s+Date\s*\(\s*\)/, "new Date()"],
    [/(?<![\w.])Date\s*\(\s*\)/, "Date()"],
    [/\bDeno\s*\./, "Deno.*"],
    [/\bfetch\s*\(/, "fetch"],
    [/\b(setTimeout|setInterval)\b/, "timers"],
    [
      /(from|import\s*\(|require\s*\()\s*["'](node:)?(fs|fs\/promises|child_process|net|http|https|os|process|worker_threads)["']/,
      "node I/O",
    ],
    [/from\s+["']@cedar-policy\/cedar-wasm[^"']*["']/, "a value import of the Cedar wasm"],
  ];
  const found: string[] = [];
  for (const f of sources(GOVERNANCE)) {
    const lines = Deno.readTextFileSync(f).split("\n");
    lines.forEach((line, i) => {
      if (/^\s*(\/\*|\*|\/\/)/.test(line) || /^\s*import\s+type\b/.test(line)) return;
      for (const [re, what] of banned) {
        if (re.test(line)) found.push(`${relative(ROOT, f)}:${i + 1}: ${what}`);
      }
    });
  }
  assertEquals(found, []);
});
