/** Compile one `field: {operator: value}` leaf of a `when:` condition (see conditions.ts). */
import type { CondEnv, CondNode } from "./conditions.ts";
import { type EvalContext, F, T, type Tri, U } from "./context.ts";
import type { Field } from "./fields.ts";
import { type CidrRange, inCidr, parseCidr, parseIp } from "./ip.ts";
import { isWithin, MAX_STRING_LENGTH, nfc, normalizePath } from "./normalize.ts";
import {
  asList,
  normRoot,
  normValue,
  show,
  staticOnly,
  tplList,
  withPrefixForms,
} from "./operands.ts";
import type { PathPart } from "./parse.ts";
import { compileRegex, globToRegex, type SafeRegex } from "./regex.ts";
import { globForms, resolvedPath, resolvesAfterSubstitution, rootForms } from "./roots.ts";
import type { OperatorName, Scalar } from "./schema.ts";
import { compileTemplate, type Tpl } from "./template.ts";

/** Record a problem at `at` in the condition's source. */
export function problem(env: CondEnv, at: readonly PathPart[], message: string, key = false): void {
  env.problems.push({ path: env.source.path, ...env.source.locate.at(at, key), message });
}

/** Compile one operator applied to one field; null (with problems recorded) when invalid. */
export function compileLeaf(
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
      if (single) {
        // One fixed value (most `eq`s and one-element `in`s): isHit's `v === only` inlined.
        ev = eqOne(get, only, positive, missing, notScalar, tooLong);
        break;
      }
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
      ev = compare(get, op, value as number, missing, notNumber);
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

/**
 * `eq`/`ne` (or a one-value `in`/`not_in`) against one fixed value, as the general leaf decides
 * it. Built here, outside compileLeaf, so the closure holds only what it reads: at 10,000 rules
 * each rule's leaf is one more object to bring into cache, and a smaller one is cheaper.
 */
function eqOne(
  get: Field["get"],
  only: unknown,
  positive: boolean,
  missing: string,
  notScalar: string,
  tooLong: string,
): (ctx: EvalContext) => Tri {
  const yes = positive ? T : F, no = positive ? F : T;
  return (ctx) => {
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
    return v === only ? yes : no;
  };
}

/** `lt`/`lte`/`gt`/`gte` against `n` (built outside compileLeaf for the same reason). */
function compare(
  get: Field["get"],
  op: OperatorName,
  n: number,
  missing: string,
  notNumber: string,
): (ctx: EvalContext) => Tri {
  const c = op === "lt" ? 0 : op === "lte" ? 1 : op === "gt" ? 2 : 3;
  return (ctx) => {
    const v = get(ctx);
    if (v === undefined) {
      ctx.why = missing;
      return U;
    }
    if (typeof v !== "number" || Number.isNaN(v)) {
      ctx.why = notNumber;
      return U;
    }
    return (c === 0 ? v < n : c === 1 ? v <= n : c === 2 ? v > n : v >= n) ? T : F;
  };
}
