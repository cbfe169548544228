/** Helpers for policy tests. */
import { type CompiledPolicy, compilePolicy, type Decision } from "../../governance/mod.ts";

export const AGENT = { id: "did:key:z6MkTest", name: "tester", ring: 2, trust: 640 };

/** Compile a policy with one `allow` rule on `action` with the given `when` (YAML flow text). */
export function ruleWhen(action: string, when: string, effect = "allow"): CompiledPolicy {
  return compilePolicy(
    `apiVersion: warden/v1
kind: Policy
name: t
rules:
  - id: r
    effect: ${effect}
    action: ${action}
    when: ${when}
`,
    { path: "t.yaml" },
  );
}

/** Build a request. */
export function req(
  action: string,
  resource: string,
  args?: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { agent: AGENT, action, resource, ...(args ? { args } : {}), ...extra };
}

/** The effect of evaluating. */
export function effect(p: CompiledPolicy, r: unknown): Decision["effect"] {
  return p.evaluate(r).effect;
}
