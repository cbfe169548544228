/** Policy-side operator values: templates resolved, strings normalized per field style. */
import type { EvalContext, StaticVars } from "./context.ts";
import type { FieldStyle } from "./fields.ts";
import { nfc, normalizeHost, normalizePath, urlFacets } from "./normalize.ts";
import { type PathResolver, prefixForms, resolvesAfterSubstitution } from "./roots.ts";
import type { OperatorName } from "./schema.ts";
import { compileTemplate, type Tpl } from "./template.ts";
import { uriOrNull } from "./uri.ts";

/** Normalize a policy-side string for comparison with a field of the given style. */
export function normValue(style: FieldStyle, op: OperatorName, s: string): string {
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

/** A policy value as written, for condition texts. */
export function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/**
 * Compile a list of template strings: fixed strings come back normalized; when some entries
 * depend on the request, a function resolves them per request (null entries are unavailable).
 */
export function tplList(
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
export function withPrefixForms(
  tl: ((ctx: EvalContext) => (string | null)[]) | string[],
  raws: string[],
  resolve: PathResolver,
): ((ctx: EvalContext) => (string | null)[]) | string[] {
  if (Array.isArray(tl)) return [...new Set(tl.flatMap((p) => prefixForms(p, resolve)))];
  if (!raws.some((r) => !r.includes("${") || resolvesAfterSubstitution(r))) return tl;
  return (ctx) => tl(ctx).flatMap((p) => (p === null ? [null] : prefixForms(p, resolve)));
}

/** One string or a list of them, as a list. */
export function asList(v: string | string[]): string[] {
  return typeof v === "string" ? [v] : v;
}

/** Reject templates where only static values make sense (regex, glob, cidr). */
export function staticOnly(s: string, vars: StaticVars, fail: (m: string) => void): string | null {
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

/** An absolute root in normalized form; null for anything else (unset or relative). */
export function normRoot(s: string | null): string | null {
  return s !== null && s.startsWith("/") ? normalizePath(s) : null;
}
