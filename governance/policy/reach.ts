/**
 * Static reachability: could a request of a given shape ever be allowed, whatever the values
 * of its open fields (a tool's arguments, unknown until the call)? Used to hide tools a policy
 * never allows (MCP `tools/list`); enforcement never relies on it, every call is decided.
 *
 * Each condition evaluates to the set of truth values it could take at call time: a leaf on a
 * known field has exactly its value (a missing label stays unknown, and so fails closed, at
 * call time too); a leaf on an open field could be anything, including unknown (a missing or
 * mistyped argument). Allow rules fire on true only; deny rules on true or unknown.
 */
import type { CondNode } from "./conditions.ts";
import { type EvalContext, F, T, type Tri, U } from "./context.ts";

/** A set of truth values as a bit mask. */
export type Outcomes = number;
export const MAY_F = 1, MAY_T = 2, MAY_U = 4;
const ANY = MAY_F | MAY_T | MAY_U;
const BIT: Record<Tri, Outcomes> = { [F]: MAY_F, [T]: MAY_T, [U]: MAY_U };
const TRIS: Tri[] = [F, T, U];

function and(a: Tri, b: Tri): Tri {
  return a === F || b === F ? F : a === U || b === U ? U : T;
}
function or(a: Tri, b: Tri): Tri {
  return a === T || b === T ? T : a === U || b === U ? U : F;
}
function combine(x: Outcomes, y: Outcomes, op: (a: Tri, b: Tri) => Tri): Outcomes {
  let out = 0;
  for (const a of TRIS) {
    if (!(x & BIT[a])) continue;
    for (const b of TRIS) if (y & BIT[b]) out |= BIT[op(a, b)];
  }
  return out;
}

/**
 * The truth values `node` could take once the open fields are filled in. `leaf`, when given,
 * may answer for a leaf first (undefined: it does not know; an MCP resource template answers
 * for conditions on `resource`).
 */
export function outcomes(
  node: CondNode,
  ctx: EvalContext,
  open: (field: string) => boolean,
  leaf?: (node: CondNode) => Outcomes | undefined,
): Outcomes {
  if (node.field !== undefined) {
    const known = leaf?.(node);
    if (known !== undefined) return known;
    return open(node.field) ? ANY : BIT[node.eval(ctx)];
  }
  const kids = node.children;
  if (!kids || kids.length === 0) return BIT[node.eval(ctx)];
  if (node.text === "not") {
    const x = outcomes(kids[0], ctx, open, leaf);
    return (x & MAY_F ? MAY_T : 0) | (x & MAY_T ? MAY_F : 0) | (x & MAY_U);
  }
  const op = node.text === "any" ? or : and;
  let acc = outcomes(kids[0], ctx, open, leaf);
  for (let i = 1; i < kids.length; i++) {
    acc = combine(acc, outcomes(kids[i], ctx, open, leaf), op);
  }
  return acc;
}

/** Fields of a request that are open when only its action, resource and agent are known. */
export function argsAreOpen(field: string): boolean {
  return field === "args" || field.startsWith("args.");
}
