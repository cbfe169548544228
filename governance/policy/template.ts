/** `${var}` templates in policy values: static ones resolve at compile time, others per request. */
import type { EvalContext, StaticVars } from "./context.ts";

/** A value that is either fixed or computed from the request; null means unavailable. */
export type Tpl = string | ((ctx: EvalContext) => string | null);

const VAR = /\$\{([^}]*)\}/g;
const DYNAMIC_ROOTS = /^(agent|context)\.[A-Za-z0-9_-]+$/;

function ownString(obj: unknown, key: string): string | null {
  if (obj === null || typeof obj !== "object" || !Object.hasOwn(obj, key)) return null;
  const v = (obj as Record<string, unknown>)[key];
  return typeof v === "string" ? v : null;
}

function resolver(name: string): ((ctx: EvalContext) => string | null) | null {
  if (name === "workspace") return (ctx) => ctx.workspace();
  if (!DYNAMIC_ROOTS.test(name)) return null;
  const dot = name.indexOf(".");
  const root = name.slice(0, dot);
  const key = name.slice(dot + 1);
  return (ctx) => ownString(ctx.req[root], key);
}

/**
 * Compile a template. Variables: `${workspace}` (the request's `context.workspace`, else the
 * static `workspace` var), `${agent.<field>}`, `${context.<field>}`, and static `vars`.
 * Returns an error message for an unknown variable.
 */
export function compileTemplate(text: string, vars: StaticVars): Tpl | { error: string } {
  if (!text.includes("${")) return text;
  const parts: (string | ((ctx: EvalContext) => string | null))[] = [];
  let last = 0;
  for (const m of text.matchAll(VAR)) {
    const name = m[1].trim();
    if (m.index > last) parts.push(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (name !== "workspace" && Object.hasOwn(vars, name)) {
      parts.push(vars[name]);
      continue;
    }
    const r = resolver(name);
    if (!r) {
      return {
        error: `unknown variable "\${${name}}" (known: workspace, agent.*, context.*${
          Object.keys(vars).length ? ", " + Object.keys(vars).join(", ") : ""
        })`,
      };
    }
    parts.push(r);
  }
  if (last < text.length) parts.push(text.slice(last));
  if (parts.every((p) => typeof p === "string")) return parts.join("");
  if (parts.length === 1) return parts[0];
  return (ctx) => {
    let out = "";
    for (const p of parts) {
      const s = typeof p === "string" ? p : p(ctx);
      if (s === null) return null;
      out += s;
    }
    return out;
  };
}
