/**
 * The floor for the policy benchmark: a hand-written evaluator of exactly the workload's rules
 * (workload.ts), indexed by action and then by the one key each rule kind tests (URL host,
 * normalized path, tool name). It normalizes with the engine's own functions (the same URL and
 * path rules: no evaluator may skip them and still be right on the hostile mix) and does
 * nothing else: no rule language, no three-valued logic, no Cedar, no reasons composed. What
 * the engine costs above it is the price of being general.
 */
import { normalizePath, urlFacets } from "../../governance/policy/normalize.ts";
import type { WorkRule } from "./workload.ts";

/** What the floor returns (the fields the agreement check compares). */
export interface FloorDecision {
  effect: "allow" | "deny";
  rule: string | null;
}

const DEFAULT: FloorDecision = Object.freeze({ effect: "deny", rule: null });

/** Build the floor evaluator for `rules` (deny-overrides, then the smallest id; default deny). */
export function floorEngine(rules: WorkRule[]): (req: Record<string, unknown>) => FloorDecision {
  const allowHost = new Map<string, FloorDecision>();
  const denyHost = new Map<string, FloorDecision>();
  const readPath = new Map<string, FloorDecision>();
  const toolDeny = new Map<string, FloorDecision>();
  // Rules come sorted by id: the first one kept per key is the smallest id.
  const keep = (m: Map<string, FloorDecision>, k: string, r: WorkRule) => {
    if (!m.has(k)) m.set(k, Object.freeze({ effect: r.effect, rule: r.id }));
  };
  for (const r of rules) {
    if (r.kind === "fetch-allow") keep(allowHost, `h${r.n}.example.com`, r);
    else if (r.kind === "fetch-deny") keep(denyHost, `evil${r.n}.example.net`, r);
    else if (r.kind === "read-allow") keep(readPath, `/data/${r.n}/file`, r);
    else keep(toolDeny, `tool${r.n}`, r);
  }
  return (req) => {
    const resource = req.resource as string;
    switch (req.action) {
      case "net.fetch": {
        const host = urlFacets(resource)?.host;
        if (host === undefined) return DEFAULT;
        const deny = denyHost.get(host);
        if (deny) return deny;
        const allow = allowHost.get(host);
        const method = (req.args as Record<string, unknown> | undefined)?.method;
        return allow && method === "GET" ? allow : DEFAULT;
      }
      case "fs.read": {
        const p = normalizePath(resource);
        return (p !== null && readPath.get(p)) || DEFAULT;
      }
      case "tool.call": {
        const deny = toolDeny.get(resource);
        const level = (req.args as Record<string, unknown> | undefined)?.level;
        return deny && typeof level === "number" && level > 5 ? deny : DEFAULT;
      }
      default:
        return DEFAULT;
    }
  };
}
