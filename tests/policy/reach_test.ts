/**
 * Static reachability (CompiledPolicy.couldAllow): "could this tool ever be allowed, whatever
 * its arguments?" Used to hide tools in MCP listings, so it must never hide a tool some call
 * could use, and must hide what a deny or the default always refuses.
 */
import fc from "fast-check";
import { compilePolicy } from "../../governance/mod.ts";
import { cedarEngine } from "../../runtime/policy/cedar_engine.ts";
import { assertEquals } from "./asserts.ts";

const POLICY = `apiVersion: warden/v1
kind: Policy
name: reach
default: deny
rules:
  - { id: read, effect: allow, action: tool.call, resource: [read, maybe, shell] }
  - { id: shell-safe, effect: deny, action: tool.call, resource: shell,
      when: { args.command: { matches: "rm\\\\s+-rf" } } }
  - { id: never, effect: deny, action: tool.call, resource: [maybe, drop] }
  - { id: admin-only, effect: allow, action: tool.call, resource: admin, rings: [0, 1] }
  - { id: by-arg, effect: allow, action: tool.call, resource: write,
      when: { args.path: { prefix: "/tmp/" } } }
  - { id: not-arg, effect: allow, action: tool.call, resource: flagless,
      when: { not: { args.force: { exists: true } } } }
  - { id: ask, effect: require_approval, action: tool.call, resource: pay }
  - { id: team, effect: allow, action: tool.call, resource: report,
      when: { agent.labels.team: { eq: finance } } }
`;

function could(policyText: string, tool: string, agent: Record<string, unknown> = {}) {
  const p = compilePolicy(policyText, { path: "reach.yaml" });
  return p.couldAllow({
    agent: { id: "a", name: "a", ring: 2, trust: 500, labels: {}, ...agent },
    action: "tool.call",
    resource: tool,
    args: {},
  });
}

Deno.test("couldAllow: a deny that holds whatever the arguments hides the tool", () => {
  assertEquals(could(POLICY, "maybe"), false);
  assertEquals(could(POLICY, "drop"), false);
});

Deno.test("couldAllow: no allow rule and a deny default hides the tool", () => {
  assertEquals(could(POLICY, "unlisted"), false);
  assertEquals(could(POLICY.replace("default: deny", "default: allow"), "unlisted"), true);
});

Deno.test("couldAllow: conditions on arguments keep the tool visible, allow or deny", () => {
  assertEquals(could(POLICY, "read"), true);
  assertEquals(could(POLICY, "shell"), true, "the deny only fires for some commands");
  assertEquals(could(POLICY, "write"), true, "allowed for some paths");
  assertEquals(could(POLICY, "flagless"), true, "a not over an argument is open too");
});

Deno.test("couldAllow: what is known about the agent decides", () => {
  assertEquals(could(POLICY, "admin"), false);
  assertEquals(could(POLICY, "admin", { ring: 1 }), true);
  assertEquals(could(POLICY, "report"), false);
  assertEquals(could(POLICY, "report", { labels: { team: "finance" } }), true);
});

Deno.test("couldAllow: require_approval counts as reachable", () => {
  assertEquals(could(POLICY, "pay"), true);
});

Deno.test("couldAllow: Cedar forbids are exact (no arguments in the entity model)", () => {
  const cedar = `permit (principal, action == Action::"tool.call", resource);
forbid (principal, action == Action::"tool.call", resource == Resource::"wipe");`;
  const p = compilePolicy(cedar, { path: "reach.cedar", format: "cedar", cedarEngine });
  const req = (tool: string) => ({
    agent: { id: "a", name: "a", ring: 2, trust: 500, labels: {} },
    action: "tool.call",
    resource: tool,
    args: {},
  });
  assertEquals(p.couldAllow(req("read")), true);
  assertEquals(p.couldAllow(req("wipe")), false);
});

Deno.test("couldAllow is sound: whenever a concrete call is allowed, the shape could be", () => {
  const seed = Number(Deno.env.get("WARDEN_SEED") ?? Date.now() % 2 ** 31);
  const field = fc.constantFrom("args.a", "args.b", "args.n.x", "agent.ring", "agent.labels.team");
  const value = fc.constantFrom<unknown>("x", "y", "/tmp/a", 1, 2, true, null);
  const leaf = fc.tuple(
    field,
    fc.oneof(
      value.map((v) => ({ eq: v })),
      fc.array(value, { minLength: 1, maxLength: 3 }).map((v) => ({ in: v })),
      fc.constantFrom("^x", "y$", "a").map((v) => ({ matches: v })),
      fc.boolean().map((v) => ({ exists: v })),
      fc.constantFrom(0, 1, 2).map((v) => ({ gt: v })),
    ),
  ).map(([f, op]) => ({ [f]: op }));
  const { cond } = fc.letrec((tie) => ({
    cond: fc.oneof(
      { depthSize: "small" },
      leaf,
      fc.array(tie("cond"), { minLength: 1, maxLength: 3 }).map((c) => ({ all: c })),
      fc.array(tie("cond"), { minLength: 1, maxLength: 3 }).map((c) => ({ any: c })),
      tie("cond").map((c) => ({ not: c })),
    ),
  }));
  const rule = fc.record({
    effect: fc.constantFrom("allow", "deny", "require_approval"),
    resource: fc.constantFrom("t1", "t2", undefined),
    rings: fc.constantFrom([2], [0, 1], undefined),
    when: fc.option(cond, { nil: undefined }),
  });
  const argVal = fc.constantFrom<unknown>("x", "y", "/tmp/a", 0, 1, 2, 3, true, null, [], {}, {
    x: "x",
  });
  const args = fc.dictionary(fc.constantFrom("a", "b", "n"), argVal, { maxKeys: 3 });
  fc.assert(
    fc.property(
      fc.array(rule, { minLength: 1, maxLength: 5 }),
      fc.constantFrom("deny", "allow"),
      fc.constantFrom("t1", "t2"),
      fc.constantFrom(1, 2),
      fc.constantFrom({}, { team: "x" }),
      args,
      (rules, dflt, tool, ring, labels, a) => {
        const doc = {
          apiVersion: "warden/v1",
          kind: "Policy",
          name: "prop",
          default: dflt,
          rules: rules.map((r, i) => ({
            id: `r${i}`,
            action: "tool.call",
            effect: r.effect,
            ...(r.resource ? { resource: r.resource } : {}),
            ...(r.rings ? { rings: r.rings } : {}),
            ...(r.when ? { when: r.when } : {}),
          })),
        };
        const p = compilePolicy(JSON.stringify(doc), { path: "prop.yaml" });
        const agent = { id: "a", name: "a", ring, trust: 500, labels };
        const shape = { agent, action: "tool.call", resource: tool, args: {} };
        const full = { ...shape, args: a };
        const d = p.evaluate(full);
        if (d.effect !== "deny" && !p.couldAllow(shape)) {
          throw new Error(`hidden but ${d.effect} by ${d.rule}: ${JSON.stringify({ doc, full })}`);
        }
      },
    ),
    { seed, numRuns: 3000 },
  );
});
