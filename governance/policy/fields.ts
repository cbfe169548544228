/** Field paths in conditions: how each one reads its value from a request. */
import type { ResourceKind } from "./actions.ts";
import type { EvalContext } from "./context.ts";

/** How values compared with a field are normalized. */
export type FieldStyle = "host" | "scheme" | "path" | "url" | "uri" | "plain";

/** A compiled field reference. `get` returns undefined when the field is missing. */
export interface Field {
  readonly name: string;
  readonly style: FieldStyle;
  readonly get: (ctx: EvalContext) => unknown;
}

const KEY = /^[^.]+$/;
const INDEX = /^(0|[1-9][0-9]{0,8})$/;
/**
 * Segments a rule may not name: requests pass through plain-object copies that drop or re-parent
 * `__proto__`, so a condition on one could silently never hold.
 */
const PROTO_NAMES: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** Walk own properties only: `__proto__` and `constructor` are ordinary keys here. */
function ownWalk(root: unknown, keys: readonly string[]): unknown {
  let v = root;
  for (let i = 0; i < keys.length; i++) {
    if (v === null || typeof v !== "object") return undefined;
    const k = keys[i];
    if (Array.isArray(v) && !INDEX.test(k)) return undefined;
    if (!Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function walker(root: "agent" | "args" | "context", keys: string[]): Field["get"] {
  if (keys.length === 1) {
    const k = keys[0];
    return (ctx) => {
      const o = ctx.req[root];
      if (o === null || typeof o !== "object" || Array.isArray(o) || !Object.hasOwn(o, k)) {
        return undefined;
      }
      return (o as Record<string, unknown>)[k];
    };
  }
  return (ctx) => ownWalk(ctx.req[root], keys);
}

const URL_FACETS = ["scheme", "host", "port", "path", "query"] as const;

/**
 * Compile a field path. `kinds` are the resource kinds of the rule's actions; they decide
 * how `resource` values are normalized. Returns an error message for an unknown field.
 */
export function compileField(name: string, kinds: ReadonlySet<ResourceKind>): Field | string {
  const single = kinds.size === 1 ? [...kinds][0] : undefined;
  // Only `resource` reads the kinds; a field is pure and immutable, so rules naming the same
  // one share it (one `get` for 10,000 rules stays in cache; a copy each would not).
  const key = name === "resource" ? `resource\u0000${single ?? ""}` : name;
  const known = SHARED.get(key);
  if (known) return known;
  const field = buildField(name, single);
  if (typeof field !== "string" && SHARED.size < MAX_SHARED) SHARED.set(key, field);
  return field;
}

/** Fields already built, by name (and kind, for `resource`); bounded, entries never change. */
const SHARED = new Map<string, Field>();
const MAX_SHARED = 4096;

function buildField(name: string, single: ResourceKind | undefined): Field | string {
  switch (name) {
    case "action":
      return { name, style: "plain", get: (ctx) => ctx.action };
    case "resource": {
      const style: FieldStyle = single === "path"
        ? "path"
        : single === "url" || single === "hostport"
        ? "url"
        : single === "uri"
        ? "uri"
        : "plain";
      return { name, style, get: (ctx) => ctx.resource() ?? undefined };
    }
    case "path":
      return { name, style: "path", get: (ctx) => ctx.path() ?? undefined };
  }
  const dot = name.indexOf(".");
  const root = dot < 0 ? name : name.slice(0, dot);
  const keys = dot < 0 ? [] : name.slice(dot + 1).split(".");
  if (keys.some((k) => !KEY.test(k))) return `invalid field "${name}": empty path segment`;
  const proto = keys.find((k) => PROTO_NAMES.has(k));
  if (proto !== undefined) {
    return `invalid field "${name}": prototype name "${proto}" cannot be a path segment`;
  }
  if (root === "url") {
    const facet = keys[0] as (typeof URL_FACETS)[number];
    if (keys.length !== 1 || !URL_FACETS.includes(facet)) {
      return `unknown field "${name}": url facets are ${
        URL_FACETS.map((f) => "url." + f).join(", ")
      }`;
    }
    const style: FieldStyle = facet === "host" ? "host" : facet === "scheme" ? "scheme" : "plain";
    return { name, style, get: (ctx) => ctx.url()?.[facet] };
  }
  if (root === "agent" || root === "args" || root === "context") {
    if (keys.length === 0) return `invalid field "${name}": name a field under ${root}.`;
    return { name, style: "plain", get: walker(root, keys) };
  }
  return `unknown field "${name}": fields are action, resource, path, agent.*, args.*, context.* and url.{scheme,host,port,path,query}`;
}
