import { assertEquals } from "./asserts.ts";
import { compilePolicy, compilePolicySet, explain } from "../../governance/mod.ts";
import { loadPolicy } from "../../runtime/policy/loader.ts";
import { AGENT, effect, req } from "./helpers.ts";

const HEAD = "apiVersion: warden/v1\nkind: Policy\nname: t\n";
const rule = (id: string, eff: string, extra = "") =>
  `  - { id: ${id}, effect: ${eff}, action: tool.call${extra} }\n`;

Deno.test("deny overrides require_approval overrides allow overrides default; order-independent", () => {
  const rules = [
    rule("a-allow", "allow"),
    rule("b-appr", "require_approval"),
    rule("c-deny", "deny"),
  ];
  const perms = [[0, 1, 2], [2, 1, 0], [1, 0, 2], [2, 0, 1]];
  for (const order of perms) {
    const p = compilePolicy(HEAD + "rules:\n" + order.map((i) => rules[i]).join(""));
    assertEquals(p.evaluate(req("tool.call", "x")).rule, "c-deny");
  }
  const p2 = compilePolicy(HEAD + "rules:\n" + rules[0] + rules[1]);
  assertEquals(p2.evaluate(req("tool.call", "x")).effect, "require_approval");
  // Among several matching rules of one effect, the smallest id is reported, whatever the order.
  const p3 = compilePolicy(HEAD + "rules:\n" + rule("z", "deny") + rule("m", "deny"));
  assertEquals(p3.evaluate(req("tool.call", "x")).rule, "m");
});

Deno.test("default is deny unless written; unmatched actions fall to the default", () => {
  const p = compilePolicy(HEAD + "rules: []\n");
  assertEquals(p.evaluate(req("tool.call", "x")), {
    effect: "deny",
    rule: null,
    reason: "no rule matched; the policy default is deny (unwritten default)",
  });
  const a = compilePolicy(HEAD + "default: allow\nrules: []\n");
  assertEquals(effect(a, req("fs.read", "/x")), "allow");
});

Deno.test("rings filter by agent ring; a non-integer ring is unknown (deny fires, allow does not)", () => {
  const p = compilePolicy(
    HEAD + "rules:\n  - { id: r, effect: allow, action: fs.read, rings: [1, 2] }\n",
  );
  assertEquals(effect(p, { ...req("fs.read", "/x"), agent: { ...AGENT, ring: 3 } }), "deny");
  assertEquals(effect(p, { ...req("fs.read", "/x"), agent: { ...AGENT, ring: 1 } }), "allow");
  assertEquals(effect(p, { ...req("fs.read", "/x"), agent: { ...AGENT, ring: "1" } }), "deny");
  const d = compilePolicy(
    HEAD + "default: allow\nrules:\n  - { id: r, effect: deny, action: fs.read, rings: [3] }\n",
  );
  assertEquals(d.evaluate({ ...req("fs.read", "/x"), agent: { ...AGENT, ring: "3" } }).rule, "r");
});

Deno.test("a deny rule never fails open on a value of unexpected type or shape", () => {
  const p = compilePolicy(
    HEAD + `default: allow
rules:
  - id: no-rm
    effect: deny
    action: tool.call
    resource: shell
    when: { args.command: { matches: "\\\\brm\\\\s+-[a-z]*r[a-z]*f" } }
`,
  );
  for (const command of [["rm", "-rf", "/"], { cmd: "rm -rf /" }, 42, null, "x".repeat(10000)]) {
    const d = p.evaluate(req("tool.call", "shell", { command }));
    assertEquals([d.effect, d.rule], ["deny", "no-rm"], JSON.stringify(command).slice(0, 40));
    if (!d.reason.includes("fail closed")) throw new Error(d.reason);
  }
  assertEquals(effect(p, req("tool.call", "shell", { command: "ls -la" })), "allow");
  // An exists guard lets a policy author opt out of fail-closed on optional fields.
  const g = compilePolicy(
    HEAD + `default: allow
rules:
  - id: force
    effect: deny
    action: tool.call
    when: { all: [{ args.force: { exists: true } }, { args.force: { eq: true } }] }
`,
  );
  assertEquals(effect(g, req("tool.call", "x", {})), "allow");
  assertEquals(effect(g, req("tool.call", "x", { force: true })), "deny");
});

Deno.test("malformed requests are denied without throwing", () => {
  const p = compilePolicy(HEAD + "default: allow\nrules: []\n");
  for (
    const r of [null, 5, "x", [], {}, { action: "fs.read" }, {
      agent: {},
      action: 1,
      resource: "x",
    }]
  ) {
    assertEquals(p.evaluate(r).effect, "deny");
  }
});

Deno.test("variables: ${workspace} from context or host vars, ${agent.id}, ${context.*}, static vars", () => {
  const p = compilePolicy(
    HEAD + `vars: { shared: /data }
rules:
  - { id: ws, effect: allow, action: fs.read, when: { path: { within: ["\${workspace}", "\${shared}"] } } }
  - { id: self, effect: allow, action: message.send, when: { resource: { ne: "\${agent.id}" } } }
  - { id: own-saga, effect: allow, action: tool.call, when: { args.saga: { eq: "\${context.saga}" } } }
`,
    { vars: { workspace: "/host-ws" } },
  );
  assertEquals(
    effect(p, req("fs.read", "/ws/a", undefined, { context: { workspace: "/ws" } })),
    "allow",
  );
  assertEquals(effect(p, req("fs.read", "/host-ws/a")), "allow");
  assertEquals(effect(p, req("fs.read", "/data/x")), "allow");
  assertEquals(effect(p, req("fs.read", "/etc/x")), "deny");
  assertEquals(effect(p, req("message.send", AGENT.id)), "deny");
  assertEquals(effect(p, req("message.send", "did:key:other")), "allow");
  assertEquals(
    effect(p, req("tool.call", "t", { saga: "s1" }, { context: { saga: "s1" } })),
    "allow",
  );
  assertEquals(
    effect(p, req("tool.call", "t", { saga: "s1" }, { context: { saga: "s2" } })),
    "deny",
  );
});

Deno.test("action wildcards and custom actions", () => {
  const p = compilePolicy(
    HEAD + `rules:
  - { id: fs-any, effect: allow, action: "fs.*" }
  - { id: all-deny, effect: deny, action: "*", when: { agent.ring: { eq: 3 } } }
  - { id: custom, effect: allow, action: db.query }
`,
    { actions: { "db.query": "name" } },
  );
  assertEquals(effect(p, req("fs.write", "/x")), "allow");
  assertEquals(effect(p, { ...req("fs.write", "/x"), agent: { ...AGENT, ring: 3 } }), "deny");
  assertEquals(effect(p, req("db.query", "users")), "allow");
  assertEquals(effect(p, { ...req("unknown.op", "x"), agent: { ...AGENT, ring: 3 } }), "deny");
});

Deno.test("several sources combine under deny-overrides; the strictest written default wins", () => {
  const a = {
    path: "a.yaml",
    text: HEAD.replace("t\n", "a\n") + "default: allow\nrules:\n" + rule("ok", "allow"),
  };
  const b = {
    path: "b.yaml",
    text: HEAD.replace("t\n", "b\n") + "default: require_approval\nrules:\n" +
      rule("no", "deny", ", resource: rm"),
  };
  const p = compilePolicySet([a, b]);
  assertEquals(p.evaluate(req("tool.call", "rm")).rule, "no");
  assertEquals(p.evaluate(req("tool.call", "ls")).rule, "ok");
  assertEquals(effect(p, req("fs.read", "/x")), "require_approval");
  assertEquals(p.names, ["a", "b"]);
});

Deno.test("loadPolicy reads a directory and follows include:, detecting cycles", () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(
    `${dir}/base.yaml`,
    HEAD + "include: [extra/more.yaml]\nrules:\n" + rule("ok", "allow"),
  );
  Deno.mkdirSync(`${dir}/extra`);
  Deno.writeTextFileSync(
    `${dir}/extra/more.yaml`,
    HEAD.replace("t\n", "more\n") + "rules:\n" + rule("no", "deny", ", resource: rm"),
  );
  const p = loadPolicy(dir);
  assertEquals(p.evaluate(req("tool.call", "rm")).rule, "no");
  assertEquals(p.rules.length, 2);
  Deno.writeTextFileSync(`${dir}/extra/more.yaml`, HEAD + "include: [../base.yaml]\nrules: []\n");
  try {
    loadPolicy(`${dir}/base.yaml`);
    throw new Error("expected a cycle error");
  } catch (e) {
    if (!String(e).includes("include cycle")) throw e;
  }
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("catastrophic-backtracking patterns run in linear time", () => {
  const p = compilePolicy(
    HEAD + `default: allow
rules:
  - { id: r, effect: deny, action: tool.call, when: { args.s: { matches: "^(a+)+$" } } }
  - { id: g, effect: deny, action: tool.call, when: { args.t: { glob: "*a*a*a*a*a*a*a*b" } } }
`,
  );
  const evil = "a".repeat(8000) + "!";
  assertEquals(effect(p, req("tool.call", "x", { s: evil, t: evil })), "allow");
  assertEquals(effect(p, req("tool.call", "x", { s: "aaaa", t: "b" })), "deny");
});

Deno.test("explain agrees with evaluate and shows each condition", () => {
  const p = loadPolicy("policies/research.yaml");
  const r = req("tool.call", "shell", { command: ["rm", "-rf"] });
  const ex = explain(p, r);
  assertEquals(ex.decision, p.evaluate(r));
  assertEquals(ex.rules[0].result, "unknown");
  assertEquals(ex.rules[0].condition?.why, "args.command is not a string");
});

Deno.test("decisions are immutable and carry readable reasons", () => {
  const p = loadPolicy("policies/research.yaml");
  const d = p.evaluate(req("tool.call", "shell", { command: "rm -rf /" }));
  assertEquals(
    d.reason,
    'denied by rule "no-force-delete": recursive force delete is never allowed',
  );
  if (!Object.isFrozen(d)) throw new Error("decision should be frozen");
});
