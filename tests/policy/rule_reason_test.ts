/**
 * The deciding rule's own reason is a field of the Decision (`ruleReason`), from YAML `reason:`,
 * Cedar `@reason` and the ring ceilings, carried by the governor's refusals: nobody has to
 * parse it back out of `reason`.
 */
import { compilePolicy } from "../../governance/policy/compile.ts";
import { Decision } from "../../governance/policy/schema.ts";
import { cedarEngine } from "../../runtime/policy/cedar_engine.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { type AgentRef, Governor, toRefusal } from "../../runtime/governor.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { assertEquals } from "./asserts.ts";

const HEAD = "apiVersion: warden/v1\nkind: Policy\nname: t\n";
const YAML = HEAD + `rules:
  - id: no-drops
    effect: deny
    action: tool.call
    resource: drop_table
    reason: 'tables are never dropped; "denied by rule \\"x\\": y"'
  - id: quiet
    effect: deny
    action: tool.call
    resource: quiet
  - id: strict
    effect: deny
    action: tool.call
    resource: sh
    reason: no recursive deletes
    when:
      args.command: { matches: "rm -rf" }
  - id: ask
    effect: require_approval
    action: tool.call
    resource: deploy
    reason: a human decides
`;

const agent = { id: "did:key:z6MkA", name: "a", ring: 2, trust: 500, labels: {} };
const req = (resource: string, args: Record<string, unknown> = {}) => ({
  agent,
  action: "tool.call",
  resource,
  args,
});

Deno.test("decision: ruleReason is the rule's own reason, present only when it has one", () => {
  const p = compilePolicy(YAML);
  const d = p.evaluate(req("drop_table"));
  assertEquals(d.ruleReason, 'tables are never dropped; "denied by rule \\"x\\": y"');
  assertEquals(d.reason, `denied by rule "no-drops": ${d.ruleReason}`);
  assertEquals("ruleReason" in p.evaluate(req("quiet")), false);
  assertEquals("ruleReason" in p.evaluate(req("nothing")), false);
  // Fail closed on an unevaluable condition: still the rule's own reason, the note in `reason`.
  const closed = p.evaluate(req("sh", { command: 7 }));
  assertEquals([closed.effect, closed.rule, closed.ruleReason], [
    "deny",
    "strict",
    "no recursive deletes",
  ]);
  assertEquals(closed.reason.includes("fail closed"), true);
  assertEquals(Decision.safeParse(d).success, true);
});

Deno.test("decision: a Cedar policy's @reason is its ruleReason", () => {
  const p = compilePolicy(
    `@id("no-secrets")
@reason("secrets stay put")
forbid (principal, action, resource) when { resource.value like "*secret*" };
@id("read-all")
permit (principal, action == Action::"fs.read", resource);
`,
    { path: "t.cedar", cedarEngine },
  );
  const read = (r: string) => p.evaluate({ agent, action: "fs.read", resource: r });
  assertEquals(read("/w/secret.txt"), {
    effect: "deny",
    rule: "no-secrets",
    reason: 'denied by Cedar policy "no-secrets"',
    ruleReason: "secrets stay put",
  });
  assertEquals("ruleReason" in read("/w/notes.txt"), false);
});

Deno.test("decision: ring ceilings and the governor's refusals carry ruleReason", async () => {
  const ref: AgentRef = { ...agent, ring: 3, workspace: "/w", code: "/c", sdk: "/s" };
  const gov = new Governor(compilePolicy(YAML), loadRings(), new AuditLog());
  const ceiling = gov.decide(ref, { path: "sdk", action: "run", resource: "sh" });
  assertEquals(ceiling.rule, null);
  assertEquals(ceiling.ruleReason, ceiling.reason);
  assertEquals(ceiling.reason.startsWith("ring ceiling: ring 3"), true);
  const ref2 = { ...ref, ring: 2 };
  const denied = await gov.authorize(ref2, { path: "sdk", action: "tool.call", resource: "quiet" });
  assertEquals(denied.refused && toRefusal(denied.refused), {
    code: "denied",
    message: 'denied by rule "quiet"',
    rule: "quiet",
    ruleReason: null,
  });
  const held = await gov.authorize(ref2, { path: "sdk", action: "tool.call", resource: "deploy" });
  assertEquals(held.refused && toRefusal(held.refused), {
    code: "approval_required",
    message: 'approval required (not performed): approval required by rule "ask": a human decides',
    rule: "ask",
    ruleReason: "a human decides",
  });
  // The audit entry is unchanged: the field is not logged twice.
  assertEquals("ruleReason" in gov.audit.recent.at(-1)!, false);
});
