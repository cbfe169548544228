/**
 * README is checked against the code: the first screen's order, no link leaving the repository,
 * no inline code span broken across lines, the action table equal to the engine's, every example
 * of a format a user writes parsed by the project's own loaders and schemas, and every usage block
 * equal to its command's `--help`.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { ACTION_KINDS, ActionRequest, compilePolicy } from "../../governance/mod.ts";
import { parseTemplate } from "../../governance/plugins/mod.ts";
import { compileRings, DEFAULT_BUDGETS, parseSize, type Ring } from "../../governance/rings/mod.ts";
import { compileSlos } from "../../governance/sre/mod.ts";
import { Tokens } from "../../runtime/cli/host.ts";
import { FleetConfigFile } from "../../runtime/fleet/config.ts";
import { loadPolicy } from "../../runtime/policy/loader.ts";
import { DecideBody, PolicyText, ReasonBody, RingBody } from "../../runtime/server/api.ts";
import { StartBody } from "../../runtime/server/roles.ts";
import { ChaosConfig } from "../../runtime/sre/chaos.ts";
import { brokenSpans, type Fence, fences, headings, linkTargets, slug } from "./markdown.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const README = Deno.readTextFileSync(join(ROOT, "README.md"));

Deno.test("README: what it is, requirements, the two commands, then the first agent, then reference", () => {
  const h2 = headings(README).filter((h) => h.level === 2).map((h) => h.text);
  assertEquals(h2.slice(0, 4), [
    "Requirements",
    "Quick start",
    "Your first governed agent",
    "Reference",
  ]);
  const quick = README.slice(README.indexOf("## Quick start"));
  for (const cmd of ["deno task demo", "deno task test"]) {
    const npx = cmd.replace("deno task", "npx -y deno@2.9.6 task");
    if (!quick.slice(0, 400).includes(cmd) || !quick.slice(0, 400).includes(npx)) {
      throw new Error(`the quick start does not show ${cmd} and ${npx}`);
    }
  }
  for (const need of ["Landlock", "C compiler", "setpriv", "prlimit", "setsid"]) {
    const req = README.slice(README.indexOf("## Requirements"), README.indexOf("## Quick start"));
    if (!req.includes(need)) throw new Error(`Requirements do not mention ${need}`);
  }
});

Deno.test("README: no link leaves the repository; every relative link and anchor resolves", () => {
  const anchors = new Set(headings(README).map((h) => slug(h.text)));
  const bad: string[] = [];
  if (/\.\.\/shared\b/.test(README)) bad.push("a pointer to ../shared (outside the repository)");
  for (const t of linkTargets(README)) {
    if (/^[a-z]+:/.test(t)) continue; // https:, mailto:
    if (t.startsWith("#")) {
      if (!anchors.has(t.slice(1))) bad.push(`no heading for ${t}`);
      continue;
    }
    const path = join(ROOT, t.split("#")[0]);
    if (!path.startsWith(ROOT)) bad.push(`${t} is outside the repository`);
    else {
      try {
        Deno.statSync(path);
      } catch {
        bad.push(`${t} does not exist`);
      }
    }
  }
  assertEquals(bad, []);
});

Deno.test("README: no inline code span is broken across lines", () => {
  const broken = brokenSpans(README).map((b) => `README.md:${b.line}: ${JSON.stringify(b.span)}`);
  assertEquals(broken, []);
});

Deno.test("README: the action table lists exactly the engine's actions and their resource kinds", () => {
  const at = README.indexOf("`action` is one of these");
  if (at < 0) throw new Error("no action table");
  const lines = README.slice(at).split("\n");
  const start = lines.findIndex((l) => l.startsWith("| action"));
  const end = lines.findIndex((l, i) => i > start && !l.startsWith("|"));
  const rows = lines.slice(start + 2, end).map((l) => {
    const m = /^\| `([^`]+)`\s*\| (\w+)\s*\|/.exec(l);
    if (!m) throw new Error(`not an action row: ${l}`);
    return [m[1], m[2]];
  });
  const table = Object.fromEntries(rows);
  assertEquals(table, { ...ACTION_KINDS });
  if (!("saga.run" in table)) throw new Error("saga.run is missing");
});

Deno.test("README: every `deno task X` it names is a task of deno.json", () => {
  const tasks = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))).tasks;
  const named = new Set([...README.matchAll(/deno task (?:-q )?([a-z][\w-]*)/g)].map((m) => m[1]));
  assertEquals([...named].filter((t) => !Object.hasOwn(tasks, t)), []);
});

Deno.test("README: the budgets table is the built-in defaults", () => {
  const cells = (key: string) => {
    const row = README.split("\n").find((l) => l.startsWith(`| \`${key}\``));
    if (!row) throw new Error(`no budgets row for ${key}`);
    return row.split("|").slice(2, 6).map((c) => c.trim());
  };
  const flood = (c: string) => {
    const m = /^(\d+) \/ (\d+) s$/.exec(c);
    return m ? { count: Number(m[1]), windowMs: Number(m[2]) * 1000 } : null;
  };
  const shown = ([0, 1, 2, 3] as const).map((ring) => ({
    memoryBytes: parseSize(cells("memory")[ring].replace(" ", "")),
    diskBytes: parseSize(cells("disk")[ring].replace(" ", "")),
    pids: Number(cells("pids")[ring]),
    cpu: Number(cells("cpu")[ring]),
    brokerRate: Number(cells("brokerRate")[ring]),
    denialFlood: flood(cells("denialFlood")[ring]),
  }));
  assertEquals(shown, [0, 1, 2, 3].map((r) => DEFAULT_BUDGETS[r as Ring]));
});

/** How each titled example is checked: by the loader or schema the host itself uses. */
const FORMATS: Record<string, (f: Fence, dir: string) => void | Promise<void>> = {
  "policy.yaml": (f, dir) => {
    Deno.writeTextFileSync(join(dir, "policy.yaml"), f.body);
    // the example includes common.yaml: an empty document stands in for it
    Deno.writeTextFileSync(
      join(dir, "common.yaml"),
      "apiVersion: warden/v1\nkind: Policy\nname: common\nrules: []\n",
    );
    loadPolicy([join(dir, "policy.yaml")]);
  },
  "research.cedar": (f, dir) => {
    Deno.writeTextFileSync(join(dir, "research.cedar"), f.body);
    loadPolicy([join(dir, "research.cedar")]);
  },
  "rings.yaml": (f) => {
    const shipped = Deno.readTextFileSync(join(ROOT, "policies/rings.yaml"));
    const ceilings = shipped.slice(0, shipped.indexOf("\nbudgets:") + 1);
    if (!f.body.startsWith("budgets:")) throw new Error("the rings example is its budgets section");
    compileRings(ceilings + f.body, "rings.yaml");
  },
  "slos.yaml": (f) => void compileSlos(f.body, "slos.yaml"),
  "chaos.json": (f) => void ChaosConfig.parse(JSON.parse(f.body)),
  "tokens.json": (f) => void Tokens.parse(JSON.parse(f.body)),
  "fleet-config.json": (f) => void FleetConfigFile.parse(JSON.parse(f.body)),
  "plugin.json": (f) => {
    const shown = parseTemplate(f.body, "README plugin.json");
    const shipped = JSON.parse(
      Deno.readTextFileSync(join(ROOT, "examples/plugins/weather/plugin.json")),
    );
    delete shipped.publisher; // the tracked example may have been signed by a reader
    delete shipped.files;
    assertEquals(shown, parseTemplate(JSON.stringify(shipped)));
  },
  "request.json": (f) => void ActionRequest.parse(JSON.parse(f.body)),
  "decision.json": (f) => {
    // what `policy eval policies/agents.yaml request.json` answers for README's request
    const request = fences(README).find((x) => x.title === "request.json")!;
    const policy = loadPolicy([join(ROOT, "policies/agents.yaml")]);
    assertEquals(
      JSON.parse(f.body),
      policy.evaluate(ActionRequest.parse(JSON.parse(request.body))),
    );
  },
  "POST /api/agents": (f) => void StartBody.parse(JSON.parse(f.body)),
  "POST /api/agents/:id/kill": (f) => void ReasonBody.parse(JSON.parse(f.body)),
  "POST /api/agents/:id/ring": (f) => void RingBody.parse(JSON.parse(f.body)),
  "POST /api/policy/validate": (f) => {
    const body = PolicyText.parse(JSON.parse(f.body));
    compilePolicy(body.text, { path: body.path });
  },
  "POST /api/approvals/:id/approve": (f) => void DecideBody.parse(JSON.parse(f.body)),
};

Deno.test("README: every format a user writes has an example, and each example parses", async () => {
  const titled = fences(README).filter((f) => f.title !== null);
  const dir = await Deno.makeTempDir({ prefix: "warden-readme-" });
  const problems: string[] = [];
  try {
    for (const f of titled) {
      const check = FORMATS[f.title!];
      if (!check) {
        problems.push(`README.md:${f.line}: no check for an example titled "${f.title}"`);
        continue;
      }
      try {
        await check(f, dir);
      } catch (e) {
        problems.push(`README.md:${f.line} (${f.title}): ${(e as Error).message.slice(0, 600)}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const missing = Object.keys(FORMATS).filter((t) => !titled.some((f) => f.title === t));
  assertEquals([...problems, ...missing.map((t) => `no example of ${t}`)], []);
});

Deno.test("markdown helpers: broken spans, escaped and double backticks, fences, links", () => {
  const md = [
    "A `span that goes",
    "on` here, a ``tick ` inside`` and \\`not a span.",
    "",
    '```yaml title="POST /x"',
    "a: `not a span",
    "```",
    "",
    "| `cell` | [t](#anchor) |",
    "",
    "See [here](README.md) and `[not](a-link)`.",
  ].join("\n");
  assertEquals(brokenSpans(md), [{ line: 1, span: "`span that goes\non`" }]);
  assertEquals(fences(md).map((f) => [f.lang, f.title, f.line]), [["yaml", "POST /x", 4]]);
  assertEquals(linkTargets(md).sort(), ["#anchor", "README.md"]);
  assertEquals(slug("Control plane, console and approvals"), "control-plane-console-and-approvals");
});
