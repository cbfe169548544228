/** Compile `when:` conditions into three-valued matchers (see README: "Unknown values"). */
import type { ResourceKind } from "./actions.ts";
import { type EvalContext, F, type StaticVars, T, type Tri, U } from "./context.ts";
import type { Problem } from "./errors.ts";
import { compileField, type Field, type FieldStyle } from "./fields.ts";
import { type CidrRange, inCidr, parseCidr, parseIp } from "./ip.ts";
import {
  isWithin,
  MAX_STRING_LENGTH,
  nfc,
  normalizeHost,
  normalizePath,
  urlFacets,
} from "./normalize.ts";
import { type ParsedSource, type PathPart, zodProblems } from "./parse.ts";
import { compileRegex, globToRegex, type SafeRegex } from "./regex.ts";
import { OPERATOR_NAMES, type OperatorName, Operators, type Scalar } from "./schema.ts";
import { compileTemplate, type Tpl } from "./template.ts";
import {
  globForms,
  type PathResolver,
  prefixForms,
  resolvedPath,
  resolvesAfterSubstitution,
  rootForms,
} from "./roots.ts";
import { uriOrNull } from "./uri.ts";

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

function problem(env: CondEnv, at: readonly PathPart[], message: string, key = false): void {
  env.problems.push({ path: env.source.path, ...env.source.locate.at(at, key), message });
}

/** Normalize a policy-side string for comparison with a field of the given style. */
function normValue(style: FieldStyle, op: OperatorName, s: string): string {
  switch (style) {
    case "host":
      return normalizeHost(s);
    case "scheme":
      return s.toLowerCase().replace(/:$/, "");
    case "path":
      return op === "eq" || op === "ne" || op === "in" || op === "not_in"
        ? normalizePath(s) ?? nfc(s)
        : nfc(s);
    case "url":
      return op === "eq" || op === "ne" || op === "in" || op === "not_in"
        ? urlFacets(s)?.href ?? nfc(s)
        : nfc(s);
    case "uri":
      // A resource URI is compared in its normalized form (uri.ts); so is a prefix of one.
      return op === "eq" || op === "ne" || op === "in" || op === "not_in" || op === "prefix"
        ? uriOrNull(s) ?? nfc(s)
        : nfc(s);
    default:
      return nfc(s);
  }
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/** Kleene conjunction over children; short-circuits on false. */
function allOf(children: CondNode[]): (ctx: EvalContext) => Tri {
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

/**
 * Compile a list of template strings: fixed strings come back normalized; when some entries
 * depend on the request, a function resolves them per request (null entries are unavailable).
 */
function tplList(
  list: string[],
  style: FieldStyle,
  op: OperatorName,
  vars: StaticVars,
  fail: (msg: string) => void,
): ((ctx: EvalContext) => (string | null)[]) | string[] | null {
  const tpls: Tpl[] = [];
  for (const s of list) {
    const t = compileTemplate(s, vars);
    if (typeof t === "object") {
      fail(t.error);
      return null;
    }
    tpls.push(typeof t === "string" ? normValue(style, op, t) : t);
  }
  if (tpls.every((t) => typeof t === "string")) return tpls as string[];
  return (ctx) =>
    tpls.map((t) => {
      if (typeof t === "string") return t;
      const s = t(ctx);
      return s === null ? null : normValue(style, op, s);
    });
}

/** Path prefixes with their resolved forms added (static ones once, variables per request). */
function withPrefixForms(
  tl: ((ctx: EvalContext) => (string | null)[]) | string[],
  raws: string[],
  resolve: PathResolver,
): ((ctx: EvalContext) => (string | null)[]) | string[] {
  if (Array.isArray(tl)) return [...new Set(tl.flatMap((p) => prefixForms(p, resolve)))];
  if (!raws.some((r) => !r.includes("${") || resolvesAfterSubstitution(r))) return tl;
  return (ctx) => tl(ctx).flatMap((p) => (p === null ? [null] : prefixForms(p, resolve)));
}

function asList(v: string | string[]): string[] {
  return typeof v === "string" ? [v] : v;
}

/** Reject templates where only static values make sense (regex, glob, cidr). */
function staticOnly(s: string, vars: StaticVars, fail: (m: string) => void): string | null {
  const t = compileTemplate(s, vars);
  if (typeof t === "object") {
    fail(t.error);
    return null;
  }
  if (typeof t !== "string") {
    fail("request variables are not allowed here; only static vars");
    return null;
  }
  return t;
}

function compileLeaf(
  field: Field,
  op: OperatorName,
  value: unknown,
  at: readonly PathPart[],
  env: CondEnv,
): CondNode | null {
  const { get, name, style } = field;
  const text = `${name} ${op} ${show(value)}`;
  let failed = false;
  const fail = (msg: string) => {
    failed = true;
    problem(env, at, `${name} ${op}: ${msg}`);
  };
  const missing = `${name} is missing`;
  const notString = `${name} is not a string`;
  const tooLong = `${name} is longer than ${MAX_STRING_LENGTH} characters`;
  const notScalar = `${name} is not a scalar`;
  const notNumber = `${name} is not a number`;
  /** Read a string field, or record why not and return null. */
  const str = (ctx: EvalContext): string | null => {
    const v = get(ctx);
    if (v === undefined) {
      ctx.why = missing;
      return null;
    }
    if (typeof v !== "string") {
      ctx.why = notString;
      return null;
    }
    if (v.length > MAX_STRING_LENGTH) {
      ctx.why = tooLong;
      return null;
    }
    return nfc(v);
  };
  let ev: ((ctx: EvalContext) => Tri) | null = null;
  let index: CondNode["index"];

  switch (op) {
    case "exists": {
      const want = value as boolean;
      ev = (ctx) => ((get(ctx) !== undefined) === want ? T : F);
      break;
    }
    case "eq":
    case "ne":
    case "in":
    case "not_in": {
      const positive = op === "eq" || op === "in";
      const raw = (op === "eq" || op === "ne" ? [value] : value) as Scalar[];
      const strings = raw.filter((x): x is string => typeof x === "string");
      const others = raw.filter((x) => typeof x !== "string");
      const listed = tplList(strings, style, op, env.vars, fail);
      if (listed === null) break;
      // Literal paths match in their resolved form too (see roots.ts).
      const resolve = style === "path" ? env.resolvePath : undefined;
      const tl = resolve && Array.isArray(listed)
        ? [...new Set(listed.flatMap((p) => rootForms(p, resolve)))]
        : listed;
      const fixed = new Set<unknown>(others);
      if (Array.isArray(tl)) { for (const s of tl) fixed.add(s); }
      const dyn = Array.isArray(tl) ? null : tl;
      if (positive && !dyn) index = { field, keys: fixed };
      const only = fixed.size === 1 ? [...fixed][0] : undefined;
      const single = fixed.size === 1 && !dyn;
      const isHit = (v: unknown, ctx: EvalContext): boolean | null => {
        if (single) return v === only;
        if (fixed.has(v)) return true;
        if (dyn && typeof v === "string") {
          const extra = dyn(ctx);
          if (extra.includes(v)) return true;
          if (extra.includes(null)) return null;
        }
        return false;
      };
      ev = (ctx) => {
        let v = get(ctx);
        if (v === undefined) {
          ctx.why = missing;
          return U;
        }
        if (v !== null && typeof v === "object") {
          ctx.why = notScalar;
          return U;
        }
        if (typeof v === "string") {
          if (v.length > MAX_STRING_LENGTH) {
            ctx.why = tooLong;
            return U;
          }
          v = nfc(v);
        }
        const hit = isHit(v, ctx);
        if (hit === null) {
          ctx.why = `a variable in ${name} ${op} is not set`;
          return U;
        }
        return hit === positive ? T : F;
      };
      break;
    }
    case "lt":
    case "lte":
    case "gt":
    case "gte": {
      const n = value as number;
      const cmp = op === "lt"
        ? (x: number) => x < n
        : op === "lte"
        ? (x: number) => x <= n
        : op === "gt"
        ? (x: number) => x > n
        : (x: number) => x >= n;
      ev = (ctx) => {
        const v = get(ctx);
        if (v === undefined) {
          ctx.why = missing;
          return U;
        }
        if (typeof v !== "number" || Number.isNaN(v)) {
          ctx.why = notNumber;
          return U;
        }
        return cmp(v) ? T : F;
      };
      break;
    }
    case "matches":
    case "glob": {
      const res: SafeRegex[] = [];
      for (const pat of asList(value as string | string[])) {
        const written = staticOnly(pat, env.vars, fail);
        if (written === null) break;
        // A path glob's literal leading directories are a root: matched resolved too.
        const forms = op === "glob" && style === "path"
          ? globForms(written, env.resolvePath)
          : [written];
        for (const s of forms) {
          let source = s;
          if (op === "glob") {
            const g = globToRegex(style === "host" ? s.toLowerCase() : s);
            if (typeof g === "object") {
              fail(g.error);
              break;
            }
            source = g;
          }
          const ci = style === "host" || style === "scheme";
          const r = compileRegex(source, ci);
          if (typeof r === "string") {
            fail(r);
            break;
          }
          res.push(r);
        }
        if (failed) break;
      }
      if (failed) break;
      ev = (ctx) => {
        const s = str(ctx);
        if (s === null) return U;
        for (let i = 0; i < res.length; i++) if (res[i].test(s)) return T;
        return F;
      };
      break;
    }
    case "prefix":
    case "suffix": {
      const raws = asList(value as string | string[]);
      const listed = tplList(raws, style, op, env.vars, fail);
      if (listed === null) break;
      const tl = op === "prefix" && style === "path" && env.resolvePath
        ? withPrefixForms(listed, raws, env.resolvePath)
        : listed;
      const test = op === "prefix"
        ? (s: string, p: string) => s.startsWith(p)
        : (s: string, p: string) => s.endsWith(p);
      ev = (ctx) => {
        const s = str(ctx);
        if (s === null) return U;
        const list = Array.isArray(tl) ? tl : tl(ctx);
        let unknown = false;
        for (let i = 0; i < list.length; i++) {
          const p = list[i];
          if (p === null) unknown = true;
          else if (test(s, p)) return T;
        }
        if (unknown) {
          ctx.why = `a variable in ${name} ${op} is not set`;
          return U;
        }
        return F;
      };
      break;
    }
    case "contains": {
      let needle = value as Scalar;
      if (typeof needle === "string") needle = normValue(style, op, needle);
      ev = (ctx) => {
        const v = get(ctx);
        if (v === undefined) {
          ctx.why = missing;
          return U;
        }
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            const e = v[i];
            if (e === needle || (typeof e === "string" && nfc(e) === needle)) return T;
          }
          return F;
        }
        if (typeof v === "string" && typeof needle === "string") {
          if (v.length > MAX_STRING_LENGTH) {
            ctx.why = tooLong;
            return U;
          }
          return nfc(v).includes(needle) ? T : F;
        }
        ctx.why = `${name} is not a string or list`;
        return U;
      };
      break;
    }
    case "within": {
      const roots: Tpl[] = [];
      for (const r of asList(value as string | string[])) {
        const t = compileTemplate(r, env.vars);
        if (typeof t === "object") {
          fail(t.error);
          break;
        }
        if (typeof t === "string") {
          const p = normalizePath(t);
          if (p === null) {
            fail(`"${t}" is not an absolute path`);
            break;
          }
          roots.push(...rootForms(p, env.resolvePath));
        } else {
          roots.push(t);
          const resolve = env.resolvePath;
          if (resolve && resolvesAfterSubstitution(r)) {
            roots.push((ctx) => {
              const root = normRoot(t(ctx));
              return root === null ? null : resolvedPath(root, resolve);
            });
          }
        }
      }
      if (failed) break;
      const isPathField = style === "path";
      const notSet = `a variable in ${name} within is not set to an absolute path`;
      const notPath = `${name} is not an absolute path`;
      ev = (ctx) => {
        const s = str(ctx);
        if (s === null) return U;
        const p = isPathField ? s : normalizePath(s, ctx.workspace() ?? undefined);
        if (p === null) {
          ctx.why = notPath;
          return U;
        }
        let unknown = false;
        for (let i = 0; i < roots.length; i++) {
          const r = roots[i];
          const root = typeof r === "string" ? r : normRoot(r(ctx));
          if (root === null) unknown = true;
          else if (isWithin(p, root)) return T;
        }
        if (unknown) {
          ctx.why = notSet;
          return U;
        }
        return F;
      };
      break;
    }
    case "cidr": {
      const ranges: CidrRange[] = [];
      for (const c of asList(value as string | string[])) {
        const s = staticOnly(c, env.vars, fail);
        if (s === null) break;
        const r = parseCidr(s);
        if (typeof r === "string") {
          fail(r);
          break;
        }
        ranges.push(r);
      }
      if (failed) break;
      ev = (ctx) => {
        const v = get(ctx);
        if (v === undefined) {
          ctx.why = missing;
          return U;
        }
        if (typeof v !== "string") {
          ctx.why = notString;
          return U;
        }
        if (v.length > MAX_STRING_LENGTH) {
          ctx.why = tooLong;
          return U;
        }
        const ip = parseIp(v);
        if (ip === null) return F;
        for (let i = 0; i < ranges.length; i++) if (inCidr(ip, ranges[i])) return T;
        return F;
      };
      break;
    }
  }
  if (failed || ev === null) return null;
  return index
    ? { text, eval: ev, field: name, op, value, index }
    : { text, eval: ev, field: name, op, value };
}

function normRoot(s: string | null): string | null {
  return s !== null && s.startsWith("/") ? normalizePath(s) : null;
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
