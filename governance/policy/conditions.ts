/**
 * Compile `when:` conditions into three-valued matchers (see README: "Unknown values"): the
 * combinators (all, any, not) here, each `field: {operator: value}` leaf in operators.ts.
 */
import type { ResourceKind } from "./actions.ts";
import { type EvalContext, F, type StaticVars, T, type Tri, U } from "./context.ts";
import type { Problem } from "./errors.ts";
import { compileField, type Field } from "./fields.ts";
import { MAX_STRING_LENGTH, nfc } from "./normalize.ts";
import { compileLeaf, problem } from "./operators.ts";
import { type ParsedSource, type PathPart, zodProblems } from "./parse.ts";
import { OPERATOR_NAMES, type OperatorName, Operators } from "./schema.ts";
import type { PathResolver } from "./roots.ts";

/** A compiled condition: its own evaluator, a readable text, and its parts (for explain). */
export interface CondNode {
  readonly text: string;
  readonly eval: (ctx: EvalContext) => Tri;
  readonly children?: readonly CondNode[];
  /** For leaves: the field the operator reads (e.g. `args.command`). */
  readonly field?: string;
  /** For leaves: the operator and its value as written (for reach.ts's leaf hooks). */
  readonly op?: OperatorName;
  readonly value?: unknown;
  /** For `eq`/`in` leaves with fixed values: the field and the values that make it true. */
  readonly index?: { readonly field: Field; readonly keys: ReadonlySet<unknown> };
}

/** Sentinel: the field's value makes eq/in unknown (missing, not a scalar, too long). */
export const UNKNOWN_KEY: unique symbol = Symbol("unknown");

/** Read a field the way `eq`/`in` see it: NFC strings, scalars, or UNKNOWN_KEY. */
export function scalarKey(field: Field, ctx: EvalContext): unknown {
  const v = field.get(ctx);
  if (v === undefined || (v !== null && typeof v === "object")) return UNKNOWN_KEY;
  if (typeof v === "string") return v.length > MAX_STRING_LENGTH ? UNKNOWN_KEY : nfc(v);
  return v;
}

/** What condition compilation needs from the enclosing rule and source. */
export interface CondEnv {
  readonly source: ParsedSource;
  readonly problems: Problem[];
  readonly vars: StaticVars;
  readonly kinds: ReadonlySet<ResourceKind>;
  /** Resolves path roots through symlinks, as requests are (see roots.ts); none: as written. */
  readonly resolvePath?: PathResolver;
}

const MAX_DEPTH = 32;

/** Kleene conjunction over children; short-circuits on false. */
export function allOf(children: CondNode[]): (ctx: EvalContext) => Tri {
  if (children.length === 1) return children[0].eval;
  const evals = children.map((c) => c.eval);
  return (ctx) => {
    let r: Tri = T;
    for (let i = 0; i < evals.length; i++) {
      const x = evals[i](ctx);
      if (x === F) return F;
      if (x === U) r = U;
    }
    return r;
  };
}

/** Kleene disjunction over children; short-circuits on true. */
function anyOf(children: CondNode[]): (ctx: EvalContext) => Tri {
  const evals = children.map((c) => c.eval);
  return (ctx) => {
    let r: Tri = F;
    for (let i = 0; i < evals.length; i++) {
      const x = evals[i](ctx);
      if (x === T) return T;
      if (x === U) r = U;
    }
    return r;
  };
}

/** Compile `{ op: value, ... }` under one field. */
function compileOperators(
  fieldName: string,
  raw: unknown,
  at: readonly PathPart[],
  env: CondEnv,
): CondNode | null {
  const field = compileField(fieldName, env.kinds);
  if (typeof field === "string") {
    problem(env, at, field, true);
    return null;
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    problem(
      env,
      at,
      `${fieldName}: expected a mapping of operators (${OPERATOR_NAMES.join(", ")})`,
    );
    return null;
  }
  const parsed = Operators.safeParse(raw);
  if (!parsed.success) {
    for (const p of zodProblems(parsed.error, env.source, at)) {
      env.problems.push({
        ...p,
        message: p.message.replace(/^unknown key "([^"]+)"/, 'unknown operator "$1"') +
          (p.message.startsWith("unknown key") ? ` (operators: ${OPERATOR_NAMES.join(", ")})` : ""),
      });
    }
    return null;
  }
  const ops = Object.keys(raw) as OperatorName[];
  if (ops.length === 0) {
    problem(env, at, `${fieldName}: no operator given`);
    return null;
  }
  const leaves: CondNode[] = [];
  for (const op of ops) {
    const leaf = compileLeaf(field, op, parsed.data[op], [...at, op], env);
    if (leaf) leaves.push(leaf);
  }
  if (leaves.length !== ops.length) return null;
  if (leaves.length === 1) return leaves[0];
  return { text: "all", eval: allOf(leaves), children: leaves };
}

/** Compile a condition mapping at `at` (for error positions). */
export function compileCondition(
  raw: unknown,
  at: readonly PathPart[],
  env: CondEnv,
  depth = 0,
): CondNode | null {
  if (depth > MAX_DEPTH) {
    problem(env, at, `condition nested deeper than ${MAX_DEPTH} levels`);
    return null;
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    problem(env, at, "expected a condition mapping (all, any, not, or field: {operator: value})");
    return null;
  }
  const entries = Object.entries(raw);
  if (entries.length === 0) {
    problem(env, at, "a condition must not be empty");
    return null;
  }
  const parts: CondNode[] = [];
  let ok = true;
  for (const [key, val] of entries) {
    const here = [...at, key];
    let node: CondNode | null = null;
    if (key === "all" || key === "any") {
      if (!Array.isArray(val) || val.length === 0) {
        problem(env, here, `${key}: expected a non-empty list of conditions`);
        ok = false;
        continue;
      }
      const kids = val.map((c, i) => compileCondition(c, [...here, i], env, depth + 1));
      if (kids.some((k) => k === null)) {
        ok = false;
        continue;
      }
      const ks = kids as CondNode[];
      node = { text: key, eval: key === "all" ? allOf(ks) : anyOf(ks), children: ks };
    } else if (key === "not") {
      const inner = compileCondition(val, here, env, depth + 1);
      if (inner) {
        const e = inner.eval;
        node = {
          text: "not",
          eval: (ctx) => {
            const x = e(ctx);
            return x === U ? U : x === T ? F : T;
          },
          children: [inner],
        };
      }
    } else {
      node = compileOperators(key, val, here, env);
    }
    if (node) parts.push(node);
    else ok = false;
  }
  if (!ok) return null;
  return parts.length === 1 ? parts[0] : { text: "all", eval: allOf(parts), children: parts };
}
