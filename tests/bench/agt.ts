/**
 * The same workload through @microsoft/agent-governance-sdk 4.0.0: its rich PolicyEngine
 * path (`evaluatePolicy`) with the deny_overrides conflict strategy. Its conditions compare
 * raw context fields, so the adapter builds the context with Warden's normalizers inside the
 * timed call (both engines pay for normalization).
 */
import { ConflictResolutionStrategy, PolicyEngine } from "agent-governance-sdk";
import { normalizePath, urlFacets } from "../../governance/mod.ts";
import type { WorkRule } from "./workload.ts";

function condition(r: WorkRule): string {
  switch (r.kind) {
    case "fetch-allow":
      return `action == 'net.fetch' and url.host in ['h${r.n}.example.com'] and args.method == 'GET'`;
    case "fetch-deny":
      return `action == 'net.fetch' and url.host == 'evil${r.n}.example.net'`;
    case "read-allow":
      return `action == 'fs.read' and path == '/data/${r.n}/file'`;
    case "tool-deny":
      return `action == 'tool.call' and resource == 'tool${r.n}' and args.level > 5`;
  }
}

/** Build an AGT engine loaded with the workload; returns a decide(request) function. */
export function agtEngine(
  rules: WorkRule[],
): (req: Record<string, unknown>) => { effect: string; rule: string | null } {
  const engine = new PolicyEngine(undefined, ConflictResolutionStrategy.DenyOverrides);
  engine.loadPolicy({
    name: "bench",
    default_action: "deny",
    rules: rules.map((r) => ({
      name: r.id,
      ruleAction: r.effect,
      priority: r.effect === "deny" ? 100 : 10,
      condition: condition(r),
    })),
  });
  return (req) => {
    const resource = req.resource as string;
    const ctx: Record<string, unknown> = { action: req.action, resource, args: req.args ?? {} };
    if (req.action === "net.fetch") {
      const f = urlFacets(resource);
      ctx.url = f ? { host: f.host, scheme: f.scheme, path: f.path } : {};
    } else if (req.action === "fs.read") {
      ctx.path = normalizePath(resource) ?? "";
    }
    const r = engine.evaluatePolicy((req.agent as { id: string }).id, ctx);
    return { effect: r.action, rule: r.matchedRule ?? null };
  };
}
