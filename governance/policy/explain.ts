/** Explain a decision: every rule that applies to the action, and why it did or did not match. */
import { type CompiledPolicy, type CompiledRule, normalizeResource } from "./compile.ts";
import type { CondNode } from "./conditions.ts";
import { type EvalContext, F, T, type Tri, U } from "./context.ts";
import type { Decision } from "./schema.ts";

/** Outcome of one condition node. */
export interface ExplainNode {
  text: string;
  result: "true" | "false" | "unknown";
  why?: string;
  children?: ExplainNode[];
}

/** Outcome of one rule. */
export interface ExplainRule {
  id: string;
  effect: string;
  location: string;
  /** Whether the rule took part in the decision (`unknown` counts for deny and approval). */
  matched: boolean;
  result: "true" | "false" | "unknown";
  resource?: ExplainNode;
  condition?: ExplainNode;
}

/** What `explain` returns. */
export interface Explanation {
  decision: Decision;
  request: { action: string; resource: string | null; kind: string };
  rules: ExplainRule[];
}

const NAMES = ["false", "true", "unknown"] as const;

function walk(node: CondNode, ctx: EvalContext): ExplainNode {
  ctx.why = "";
  const r = node.eval(ctx);
  const out: ExplainNode = { text: node.text, result: NAMES[r] };
  if (r === U && !node.children) out.why = ctx.why;
  if (node.children) out.children = node.children.map((c) => walk(c, ctx));
  return out;
}

function and(a: Tri, b: Tri): Tri {
  return a === F || b === F ? F : a === U || b === U ? U : T;
}

/** Explain how `policy` decides `request`. The decision equals `policy.evaluate(request)`. */
export function explain(policy: CompiledPolicy, request: unknown): Explanation {
  const decision = policy.evaluate(request);
  if (request === null || typeof request !== "object" || Array.isArray(request)) {
    return { decision, request: { action: "", resource: null, kind: "name" }, rules: [] };
  }
  const req = request as Record<string, unknown>;
  const action = typeof req.action === "string" ? req.action : "";
  const ctx = policy.context(req);
  const normalized = typeof req.resource === "string" ? ctx.resource() : null;
  const rules: ExplainRule[] = [];
  const applies = (r: CompiledRule) =>
    r.actions.includes(action) || (r.actions.includes("*") && !r.resources);
  for (const rule of policy.rules) {
    if (!applies(rule)) continue;
    let tri: Tri = T;
    const entry: ExplainRule = {
      id: rule.id,
      effect: rule.effect,
      location: `${rule.location.path}:${rule.location.line}:${rule.location.column}`,
      matched: false,
      result: "true",
    };
    if (rule.resources) {
      const keys = rule.resources.map((r) => normalizeResource(policy.kindOf(action), r));
      const res: Tri = normalized === null ? U : keys.includes(normalized) ? T : F;
      entry.resource = {
        text: `resource in ${JSON.stringify(rule.resources)}`,
        result: NAMES[res],
        ...(res === U ? { why: "resource could not be normalized" } : {}),
      };
      tri = and(tri, res);
    }
    if (rule.match) {
      entry.condition = walk(rule.match, ctx);
      tri = and(tri, rule.match.eval(ctx));
    }
    entry.result = NAMES[tri];
    entry.matched = tri === T || (tri === U && rule.effect !== "allow");
    rules.push(entry);
  }
  return { decision, request: { action, resource: normalized, kind: ctx.kind }, rules };
}
