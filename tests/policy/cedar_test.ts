import {
  type CompileOptions,
  compilePolicy as compileText,
  compilePolicySet as compileSet,
  type PolicySource,
} from "../../governance/policy/compile.ts";
import { formatProblem, type PolicyError } from "../../governance/policy/errors.ts";
import { cedarSchema } from "../../governance/policy/cedar.ts";
import { cedarEngine } from "../../runtime/policy/cedar_engine.ts";
import { assertEquals } from "./asserts.ts";
import { runScript } from "./run_script.ts";

/** The governance compilers with the runtime's Cedar engine injected. */
const compilePolicy = (text: string, o: CompileOptions = {}) =>
  compileText(text, { cedarEngine, ...o });
const compilePolicySet = (sources: PolicySource[], o: CompileOptions = {}) =>
  compileSet(sources, { cedarEngine, ...o });

const EXAMPLE = Deno.readTextFileSync(
  new URL("../../examples/cedar/research.cedar", import.meta.url),
);
const agent = (extra: Record<string, unknown> = {}) => ({ id: "did:key:a", ring: 2, ...extra });
const req = (action: string, resource: string, a = agent()) => ({ agent: a, action, resource });

function problemsOf(text: string): string[] {
  try {
    compilePolicy(text, { path: "p.cedar", format: "cedar" });
  } catch (e) {
    return (e as PolicyError).problems.map(formatProblem);
  }
  throw new Error("expected a PolicyError");
}

Deno.test("cedar: permit allows, no match falls to the default deny", () => {
  const p = compilePolicy(EXAMPLE, { path: "research.cedar" });
  assertEquals(p.evaluate(req("fs.read", "/workspace/notes.md")), {
    effect: "allow",
    rule: "read-workspace",
    reason: 'allowed by Cedar policy "read-workspace"',
  });
  assertEquals(p.evaluate(req("fs.read", "/etc/passwd")).effect, "deny");
  assertEquals(p.evaluate(req("fs.read", "/etc/passwd")).rule, null);
  assertEquals(p.evaluate(req("fs.read", "/workspace/x", agent({ ring: 3 }))).effect, "deny");
});

Deno.test("cedar: forbid overrides permit", () => {
  const d = compilePolicy(EXAMPLE, { path: "research.cedar" })
    .evaluate(req("fs.read", "/workspace/secret.txt"));
  assertEquals([d.effect, d.rule], ["deny", "no-secrets"]);
});

Deno.test("cedar: resources are normalized before matching (traversal cannot dodge a forbid)", () => {
  const p = compilePolicy(EXAMPLE, { path: "research.cedar" });
  assertEquals(p.evaluate(req("fs.read", "/workspace/../etc/passwd")).effect, "deny");
  assertEquals(p.evaluate(req("fs.read", "/workspace/a/../secret")).rule, "no-secrets");
  // a relative path cannot be normalized: a permit on it is void
  assertEquals(p.evaluate(req("fs.read", "workspace/x")).effect, "deny");
});

Deno.test("cedar: trust and labels are attributes of the Agent entity", () => {
  const p = compilePolicy(EXAMPLE, { path: "research.cedar" });
  const gh = "https://api.github.com/repos/x";
  assertEquals(p.evaluate(req("net.fetch", gh, agent({ trust: 800 }))).effect, "allow");
  assertEquals(
    p.evaluate(req("net.fetch", gh, agent({ trust: 100 }))).rule,
    "low-trust-no-network",
  );
  assertEquals(
    p.evaluate(req("tool.call", "deploy", agent({ labels: { team: "ops" } }))).effect,
    "allow",
  );
  assertEquals(
    p.evaluate(req("tool.call", "deploy", agent({ labels: { team: "dev" } }))).effect,
    "deny",
  );
  assertEquals(p.evaluate(req("tool.call", "deploy")).effect, "deny");
});

Deno.test("cedar: an erroring policy is skipped and the result stays closed", () => {
  const overflow = "principal.ring + 9223372036854775807 > 0";
  const p = compilePolicy(
    `@id("p") permit (principal, action == Action::"fs.read", resource) when { ${overflow} };
     @id("f") forbid (principal, action == Action::"fs.write", resource) when { ${overflow} };
     @id("w") permit (principal, action == Action::"fs.write", resource);`,
    { path: "o.cedar", format: "cedar" },
  );
  const read = p.evaluate(req("fs.read", "/x"));
  assertEquals([read.effect, read.rule], ["deny", null]);
  const write = p.evaluate(req("fs.write", "/x"));
  assertEquals([write.effect, write.rule], ["deny", "f"]);
  if (!write.reason.includes("fail closed") || !write.reason.includes("overflow")) {
    throw new Error(write.reason);
  }
});

Deno.test("cedar: YAML and Cedar combine under deny-overrides", () => {
  const yaml = `apiVersion: warden/v1
kind: Policy
name: y
default: deny
rules:
  - { id: yaml-allow-secret, effect: allow, action: fs.read, resource: /workspace/secret.txt }
  - { id: yaml-deny-tmp, effect: deny, action: fs.read, when: { resource: { glob: "/workspace/tmp/**" } } }
  - { id: yaml-approve, effect: require_approval, action: fs.write }
`;
  const p = compilePolicySet([
    { text: yaml, path: "y.yaml" },
    { text: EXAMPLE, path: "research.cedar" },
    {
      text: `@id("w") permit (principal, action == Action::"fs.write", resource);`,
      path: "w.cedar",
    },
  ]);
  assertEquals(p.sources, ["y.yaml", "research.cedar", "w.cedar"]);
  assertEquals(p.evaluate(req("fs.read", "/workspace/secret.txt")).rule, "no-secrets");
  assertEquals(p.evaluate(req("fs.read", "/workspace/tmp/a")).rule, "yaml-deny-tmp");
  assertEquals(p.evaluate(req("fs.read", "/workspace/a")).rule, "read-workspace");
  assertEquals(p.evaluate(req("fs.write", "/workspace/a")).effect, "require_approval");
});

Deno.test("cedar: parse and schema errors name file:line:col", () => {
  assertEquals(problemsOf("permit(principal,\n action, resource) when { 1 + };"), [
    "p.cedar:2:31: cedar: unexpected token `}`",
  ]);
  const [typo] = problemsOf(`// x\npermit(principal, action == Action::"fs.reed", resource);`);
  if (!typo.startsWith("p.cedar:2:") || !typo.includes('unrecognized action `Action::"fs.reed"`')) {
    throw new Error(typo);
  }
  const [attr] = problemsOf(
    `@id("x")\npermit(principal, action, resource) when { resource.nope == "1" };`,
  );
  if (!attr.startsWith("p.cedar:2:") || !attr.includes("attribute `nope`")) throw new Error(attr);
  const [opt] = problemsOf(`permit(principal, action, resource) when { principal.trust > 5 };`);
  if (!opt.includes("optional attribute `trust`")) throw new Error(opt);
  const [dup] = problemsOf(
    `@id("a") permit(principal, action, resource);\n@id("a") forbid(principal, action, resource);`,
  );
  if (!dup.startsWith("p.cedar:2:1:") || !dup.includes('duplicate policy id "a"')) {
    throw new Error(dup);
  }
});

Deno.test("cedar: malformed requests are denied before Cedar sees them", () => {
  const p = compilePolicy(`permit(principal, action, resource);`, {
    path: "a.cedar",
    format: "cedar",
  });
  assertEquals(p.evaluate({ action: "fs.read", resource: "/x" }).effect, "deny");
  assertEquals(p.evaluate(req("fs.read", "/x", { id: "a" } as never)).effect, "deny");
  assertEquals(p.evaluate(req("fs.read", "/x")).effect, "allow");
});

Deno.test("cedar: the schema lists every action of the vocabulary", () => {
  const s = cedarSchema(["fs.read", "tool.call"]);
  if (!s.includes('action "fs.read", "tool.call" appliesTo')) throw new Error(s);
});

Deno.test("cedar: an agent block Cedar cannot represent is denied, not half-read", () => {
  const p = compilePolicy(
    `permit(principal, action, resource);\n@id("no-untrusted") forbid(principal, action, resource) when { principal has trust && principal.trust < 100 };`,
    { path: "a.cedar", format: "cedar" },
  );
  for (
    const a of [{ id: "a", trust: "5", ring: 1 }, { id: "a", ring: 1, labels: { team: 5 } }, {
      id: 7,
      ring: 1,
    }]
  ) {
    const d = p.evaluate(req("fs.read", "/x", a as never));
    if (d.effect !== "deny" || !d.reason.includes("fail closed")) {
      throw new Error(JSON.stringify(d));
    }
  }
  assertEquals(p.evaluate(req("fs.read", "/x", agent({ trust: 50 }))).rule, "no-untrusted");
  assertEquals(p.evaluate(req("fs.read", "/x", agent({ trust: 500 }))).effect, "allow");
});

Deno.test("cedar: sliced evaluation agrees with the equivalent YAML on every request", () => {
  const yaml = ["apiVersion: warden/v1", "kind: Policy", "name: d", "rules:"];
  const ced: string[] = [];
  const acts = ["tool.call", "env.get", "memory.read"];
  for (let i = 0; i < 60; i++) {
    const a = acts[i % 3], deny = i % 4 === 0;
    yaml.push(
      `  - { id: r${i}, effect: ${deny ? "deny" : "allow"}, action: ${a}, resource: t${i % 20}${
        deny ? ", rings: [3]" : ""
      } }`,
    );
    ced.push(
      `@id("r${i}") ${
        deny ? "forbid" : "permit"
      }(principal, action == Action::"${a}", resource == Resource::"t${i % 20}")${
        deny ? " when { principal.ring == 3 }" : ""
      };`,
    );
  }
  yaml.push(
    "  - { id: z-any, effect: deny, action: '*', when: { agent.labels.block: { eq: 'yes' } } }",
  );
  ced.push(
    `@id("z-any") forbid(principal, action, resource) when { principal.hasTag("block") && principal.getTag("block") == "yes" };`,
  );
  const y = compilePolicy(yaml.join("\n") + "\n", { path: "d.yaml" });
  const c = compilePolicy(ced.join("\n"), { path: "d.cedar" });
  for (let i = 0; i < 600; i++) {
    const r = req(
      acts[i % 3],
      `t${(i * 7) % 23}`,
      agent({ ring: i % 4, labels: { block: i % 5 === 0 ? "yes" : "no" } }),
    );
    const a = y.evaluate(r), b = c.evaluate(r);
    if (a.effect !== b.effect || a.rule !== b.rule) {
      throw new Error(
        `${JSON.stringify(r)}: yaml ${a.effect}/${a.rule}, cedar ${b.effect}/${b.rule}`,
      );
    }
  }
});

Deno.test("cedar: the runtime reads the wasm only for a Cedar source, and a failed read is one line", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(
      `${dir}/p.yaml`,
      "apiVersion: warden/v1\nkind: Policy\nname: p\nrules:\n  - { id: r, effect: allow, action: env.get, resource: HOME }\n",
    );
    Deno.writeTextFileSync(`${dir}/p.cedar`, EXAMPLE);
    const loader = new URL("../../runtime/policy/loader.ts", import.meta.url).href;
    const script = `import { loadPolicy } from ${JSON.stringify(loader)};
import { formatProblem } from "${new URL("../../governance/mod.ts", import.meta.url).href}";
console.log(loadPolicy(${JSON.stringify(`${dir}/p.yaml`)}).rules.length);
try { loadPolicy(${JSON.stringify(`${dir}/p.cedar`)}); console.log("compiled"); }
catch (e) { console.log(e.problems.map(formatProblem).join("|")); }`;
    // Read access to the policies only: not to node_modules, where the wasm lives.
    const out = await runScript(script, [`--allow-read=${dir}`, "--allow-env"]);
    const [rules, cedar] = out.stdout.trim().split("\n");
    assertEquals([out.code, rules], [0, "1"], out.stderr);
    if (!/^\S+cedar_wasm_bg\.wasm:1:1: cannot load the Cedar engine: .*read access/.test(cedar)) {
      throw new Error(cedar);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
