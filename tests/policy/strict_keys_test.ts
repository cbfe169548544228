/**
 * Issue 16 class 16: prototype keys, YAML merge keys, duplicate keys and unknown fields are
 * errors with file:line:col in every YAML/JSON document the host loads through the policy parser
 * (policies, the rings file, SLO files), at every level; none is silently dropped.
 */
import { assertEquals } from "./asserts.ts";
import { compilePolicy, formatProblem, PolicyError } from "../../governance/mod.ts";
import { compileRings } from "../../governance/rings/ceiling.ts";
import { compileSlos } from "../../governance/sre/slo.ts";
import { cedarEngine } from "../../runtime/policy/cedar_engine.ts";

const HEAD = "apiVersion: warden/v1\nkind: Policy\nname: t\n";

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    return e.problems.map(formatProblem);
  }
  throw new Error("expected a PolicyError, but the document was accepted");
}

const policy = (text: string, path = "p.yaml") => problemsOf(() => compilePolicy(text, { path }));

function has(problems: string[], expected: string) {
  if (!problems.includes(expected)) {
    throw new Error(`expected problem\n  ${expected}\ngot\n  ${problems.join("\n  ")}`);
  }
}

Deno.test("__proto__ beside another condition in when: is an error, not dropped", () => {
  const text = HEAD + `default: allow
rules:
  - id: r
    effect: deny
    action: fs.read
    when:
      action: { eq: fs.read }
      __proto__:
        resource: { prefix: /etc }
`;
  has(policy(text), 'p.yaml:11:7: prototype key "__proto__" is not allowed (in rules[0].when)');
});

Deno.test("quoted and JSON spellings of __proto__ are errors too", () => {
  has(
    policy(
      HEAD + `rules:
  - id: r
    effect: deny
    action: fs.read
    when:
      action: { eq: fs.read }
      "__proto__": { resource: { prefix: /etc } }
`,
    ),
    'p.yaml:10:7: prototype key "__proto__" is not allowed (in rules[0].when)',
  );
  const json = JSON.stringify({
    apiVersion: "warden/v1",
    kind: "Policy",
    name: "t",
    rules: [{ id: "r", effect: "deny", action: "fs.read", when: { action: { eq: "fs.read" } } }],
  }).replace('{"action":{"eq"', '{"__proto__":{"resource":{"prefix":"/etc"}},"action":{"eq"');
  const got = policy(json, "p.json");
  assertEquals(got.length, 1, got.join("\n"));
  if (!/^p\.json:1:\d+: prototype key "__proto__" is not allowed/.test(got[0])) {
    throw new Error(got[0]);
  }
});

Deno.test("__proto__, constructor and prototype are refused at every level", () => {
  for (const key of ["__proto__", "constructor", "prototype"]) {
    const msg = `prototype key "${key}" is not allowed`;
    has(policy(HEAD + `${key}: { x: 1 }\nrules: []\n`), `p.yaml:4:1: ${msg}`);
    has(policy(HEAD + `vars:\n  ${key}: x\nrules: []\n`), `p.yaml:5:3: ${msg} (in vars)`);
    has(
      policy(HEAD + `rules:\n  - id: r\n    effect: allow\n    action: fs.read\n    ${key}: 1\n`),
      `p.yaml:8:5: ${msg} (in rules[0])`,
    );
    has(
      policy(
        HEAD +
          `rules:\n  - id: r\n    effect: allow\n    action: fs.read\n    when:\n      any:\n        - action: { eq: fs.read }\n          ${key}: { eq: 1 }\n`,
      ),
      `p.yaml:11:11: ${msg} (in rules[0].when.any[0])`,
    );
    has(
      policy(
        HEAD +
          `rules:\n  - id: r\n    effect: allow\n    action: fs.read\n    when:\n      resource: { prefix: /w, ${key}: /etc }\n`,
      ),
      `p.yaml:9:31: ${msg} (in rules[0].when.resource)`,
    );
  }
});

Deno.test("prototype names as field-path segments are refused", () => {
  for (const key of ["__proto__", "constructor", "prototype"]) {
    has(
      policy(
        HEAD +
          `rules:\n  - id: r\n    effect: deny\n    action: fs.read\n    when:\n      args.${key}: { exists: true }\n`,
      ),
      `p.yaml:9:7: invalid field "args.${key}": prototype name "${key}" cannot be a path segment`,
    );
  }
});

Deno.test("YAML merge keys cannot smuggle fields", () => {
  // Into a rule: the merged effect must not count.
  has(
    policy(
      HEAD +
        `base: &b { effect: allow }\nrules:\n  - id: r\n    <<: *b\n    action: fs.read\n`,
    ),
    'p.yaml:7:5: YAML merge key "<<" is not allowed; write the keys out (in rules[0])',
  );
  // Into a condition and into vars.
  has(
    policy(
      HEAD +
        `rules:\n  - id: r\n    effect: deny\n    action: fs.read\n    when:\n      <<: { resource: { prefix: /etc } }\n      action: { eq: fs.read }\n`,
    ),
    'p.yaml:9:7: YAML merge key "<<" is not allowed; write the keys out (in rules[0].when)',
  );
  has(
    policy(HEAD + `vars:\n  <<: { root: /etc }\nrules: []\n`),
    'p.yaml:5:3: YAML merge key "<<" is not allowed; write the keys out (in vars)',
  );
  // An explicit !!merge tag is no way around it.
  const tagged = policy(
    HEAD + `rules:\n  - id: r\n    effect: deny\n    action: fs.read\n    !!merge <<: { id: x }\n`,
  );
  if (!tagged.some((p) => p.startsWith("p.yaml:8:"))) throw new Error(tagged.join("\n"));
});

Deno.test("duplicate keys are errors, however they are spelled", () => {
  for (
    const dup of ["effect: deny", '"effect": deny', "'effect': deny", "? effect\n    : deny"]
  ) {
    const got = policy(
      HEAD + `rules:\n  - id: r\n    effect: allow\n    ${dup}\n    action: fs.read\n`,
    );
    if (!got.some((p) => /^p\.yaml:7:\d+: YAML: Map keys must be unique$/.test(p))) {
      throw new Error(got.join("\n"));
    }
  }
  const got = policy(HEAD + `rules:\n  - id: r\n    effect: allow\n    when: { a.x: 1, a.x: 2 }\n`);
  if (!got.some((p) => p.includes("Map keys must be unique"))) throw new Error(got.join("\n"));
});

Deno.test("unknown fields are errors at every level of a policy", () => {
  has(policy(HEAD + "rules: []\nextra: 1\n"), 'p.yaml:5:1: unknown key "extra"');
  has(
    policy(HEAD + "rules:\n  - id: r\n    effect: allow\n    action: fs.read\n    efect: deny\n"),
    'p.yaml:8:5: unknown key "efect" in rules[0]',
  );
  const op = policy(
    HEAD +
      "rules:\n  - id: r\n    effect: allow\n    action: fs.read\n    when:\n      resource: { prefx: /w }\n",
  );
  if (!op.some((p) => p.startsWith('p.yaml:9:19: unknown operator "prefx"'))) {
    throw new Error(op.join("\n"));
  }
});

const RINGS = (extra: string) =>
  `apiVersion: warden/v1\nkind: Rings\nrings:\n` +
  [0, 1, 2, 3].map((r) =>
    `  ${r}:\n    read: false\n    write: false\n    net: false\n    env: false\n    sys: false\n    run: false\n    ffi: false\n    import: false\n    tools: false\n    messages: false\n    outputs: false\n    plugins: false\n    memory: false\n` +
    (r === 3 ? extra : "")
  ).join("");

Deno.test("the rings file refuses prototype, merge and unknown keys with positions", () => {
  const base = RINGS("");
  compileRings(base, "rings.yaml"); // the baseline is valid
  const line = base.split("\n").length; // the line the extra key lands on
  has(
    problemsOf(() => compileRings(RINGS("    __proto__: { read: true }\n"), "rings.yaml")),
    `rings.yaml:${line}:5: prototype key "__proto__" is not allowed (in rings.3)`,
  );
  has(
    problemsOf(() => compileRings(RINGS("    <<: { read: true }\n"), "rings.yaml")),
    `rings.yaml:${line}:5: YAML merge key "<<" is not allowed; write the keys out (in rings.3)`,
  );
  has(
    problemsOf(() => compileRings(RINGS("    raed: true\n"), "rings.yaml")),
    `rings.yaml:${line}:5: unknown key "raed" in rings.3`,
  );
});

Deno.test("SLO files refuse prototype keys with positions", () => {
  const text =
    "apiVersion: warden/v1\nkind: SLOs\nslos:\n  - name: s\n    kind: success\n    target: 0.99\n    window: 7d\n    scope:\n      constructor: x\n";
  has(
    problemsOf(() => compileSlos(text, "slo.yaml")),
    'slo.yaml:9:7: prototype key "constructor" is not allowed (in slos[0].scope)',
  );
});

Deno.test("the schema itself refuses prototype keys in objects that never went through YAML", async () => {
  const { PolicyDocument } = await import("../../governance/policy/schema.ts");
  const doc = JSON.parse(
    '{"apiVersion":"warden/v1","kind":"Policy","name":"t","vars":{"__proto__":"x"},' +
      '"rules":[{"id":"r","effect":"deny","action":"fs.read",' +
      '"when":{"action":{"eq":"fs.read"},"__proto__":{"resource":{"prefix":"/etc"}}}}]}',
  );
  const r = PolicyDocument.safeParse(doc);
  assertEquals(r.success, false);
  assertEquals(
    r.error?.issues.map((i) => i.path.join(".")).sort(),
    ["rules.0.when.__proto__", "vars.__proto__"],
  );
});

Deno.test("cedar: a label named __proto__ is not silently dropped from the Agent entity", () => {
  const p = compilePolicy(
    'permit(principal, action, resource);\n@id("no-flagged") forbid(principal, action, resource) when { principal.hasTag("__proto__") };',
    { path: "a.cedar", format: "cedar", cedarEngine },
  );
  const agent = { id: "a", ring: 1, labels: JSON.parse('{"__proto__": "x"}') };
  const d = p.evaluate({ agent, action: "fs.read", resource: "/x" });
  assertEquals(d.effect, "deny", JSON.stringify(d));
  // Ordinary labels still work.
  assertEquals(
    p.evaluate({
      agent: { id: "a", ring: 1, labels: { team: "x" } },
      action: "fs.read",
      resource: "/x",
    })
      .effect,
    "allow",
  );
});

Deno.test("redact paths cannot name prototype segments either", () => {
  for (const key of ["__proto__", "constructor", "prototype"]) {
    const got = policy(
      HEAD +
        `rules:\n  - id: r\n    effect: require_approval\n    action: tool.call\n    redact: [args.${key}.x]\n`,
    );
    if (!got.some((p) => p.startsWith("p.yaml:8:") && p.includes("cannot be path segments"))) {
      throw new Error(got.join("\n"));
    }
  }
});

Deno.test("tagged, escaped and explicit-key spellings of __proto__ are refused too", () => {
  const H = HEAD + "rules:\n  - id: r\n    effect: deny\n    action: fs.read\n    when: ";
  for (
    const w of [
      "!!map { __proto__: { eq: 1 } }",
      '{ "\\u005f_proto__": { eq: 1 } }',
      "{ ? __proto__ : { eq: 1 } }",
      "{ action: { eq: fs.read }, !!str __proto__: { eq: 1 } }",
    ]
  ) {
    const got = policy(H + w + "\n");
    if (!got.some((p) => /^p\.yaml:8:\d+: prototype key "__proto__" is not allowed/.test(p))) {
      throw new Error(`${w}: ${got.join("\n")}`);
    }
  }
});
