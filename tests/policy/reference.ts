/**
 * Reference interpreter: a deliberately naive reading of the policy semantics in README,
 * used to check the compiled engine. No index, no precompiled matchers, no shared normalizers:
 * every rule is interpreted from the document on every request.
 */
import { RE2JS } from "re2js";

type Tri = "T" | "F" | "U";
type Obj = Record<string, unknown>;
// deno-lint-ignore no-explicit-any
type Doc = any;

const KINDS: Record<string, string> = {
  "fs.read": "path",
  "fs.write": "path",
  "net.fetch": "url",
  "net.connect": "hostport",
  "env.get": "name",
  "run": "name",
  "ffi": "path",
  "sys": "name",
  "import": "url",
  "tool.call": "name",
  "message.send": "name",
  "output.emit": "name",
  "plugin.load": "name",
  "memory.read": "name",
  "memory.write": "name",
};
const MAX = 8192;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const and = (xs: Tri[]): Tri => xs.includes("F") ? "F" : xs.includes("U") ? "U" : "T";
const or = (xs: Tri[]): Tri => xs.includes("T") ? "T" : xs.includes("U") ? "U" : "F";

function refPath(p: string, base?: string): string | null {
  if (p === "" || p.length > MAX || p.includes("\0")) return null;
  if (p.startsWith("file:")) {
    try {
      const u = new URL(p);
      if (u.hostname !== "" && u.hostname !== "localhost") return null;
      p = decodeURIComponent(u.pathname);
    } catch {
      return null;
    }
    if (p.includes("\0")) return null;
  }
  if (!p.startsWith("/")) {
    if (!base || !base.startsWith("/")) return null;
    p = base + "/" + p;
  }
  const stack: string[] = [];
  for (const s of p.split("/")) {
    if (s === "..") stack.pop();
    else if (s !== "" && s !== ".") stack.push(s);
  }
  return ("/" + stack.join("/")).normalize("NFC");
}

function stripHost(h: string): string {
  if (h.startsWith("[")) return h.slice(1, -1);
  return h.replace(/\.+$/, "");
}

function refUrl(s: string): Obj | null {
  if (s.length > MAX) return null;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  const scheme = u.protocol.replace(/:$/, "");
  const defaults: Record<string, number> = { http: 80, https: 443, ws: 80, wss: 443, ftp: 21 };
  return {
    href: u.href,
    scheme,
    host: stripHost(u.hostname),
    port: u.port ? Number(u.port) : defaults[scheme],
    path: u.pathname,
    query: u.search.replace(/^\?/, ""),
  };
}

function refHostPort(s: string): Obj | null {
  if (s.length > MAX || /[/?#@\s\\]/.test(s)) return null;
  let u: URL;
  try {
    u = new URL("http://" + s + "/");
  } catch {
    return null;
  }
  const host = stripHost(u.hostname);
  const port = u.port ? Number(u.port) : /:0*80$/.test(s) ? 80 : undefined;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    href: port === undefined ? shown : `${shown}:${port}`,
    scheme: "",
    host,
    port,
    path: "",
    query: "",
  };
}

function refHost(v: string): string {
  try {
    const u = new URL("http://" + (v.includes(":") && !v.startsWith("[") ? `[${v}]` : v) + "/");
    if (u.pathname === "/" && u.port === "") return stripHost(u.hostname);
  } catch { /* fall through */ }
  if (v.startsWith(".") && v.length > 1) {
    try {
      const u = new URL("http://" + v.slice(1) + "/");
      if (u.pathname === "/") return "." + stripHost(u.hostname);
    } catch { /* fall through */ }
  }
  return v.normalize("NFC").toLowerCase();
}

/** IP as a 128-bit bigint (IPv4 mapped into ::ffff:0:0/96), via the URL parser. */
function refIp(s: string): bigint | null {
  if (s === "" || s.length > 64) return null;
  const bare = s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s;
  try {
    if (bare.includes(":")) {
      const h = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
      const [a, b = ""] = h.split("::");
      const head = a ? a.split(":") : [];
      const tail = h.includes("::") && b ? b.split(":") : [];
      const groups = [...head, ...Array(8 - head.length - tail.length).fill("0"), ...tail];
      return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
    }
    const h = new URL(`http://${bare}/`).hostname;
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(h);
    if (!m) return null;
    return (0xffffn << 32n) | m.slice(1).reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
  } catch {
    return null;
  }
}

function refCidr(ip: bigint, cidr: string): boolean {
  const [a, l] = cidr.split("/");
  const base = refIp(a)!;
  const v4 = !a.includes(":");
  const bits = l === undefined ? 128 : Number(l) + (v4 ? 96 : 0);
  const shift = BigInt(128 - bits);
  return (ip >> shift) === (base >> shift);
}

function refGlob(glob: string, s: string): boolean {
  // Backtracking with memo over (glob index, string index): obviously correct, slow.
  const memo = new Map<string, boolean>();
  const alts = (g: string): string[] => {
    const i = g.indexOf("{");
    if (i < 0) return [g];
    let depth = 0;
    for (let j = i; j < g.length; j++) {
      if (g[j] === "{") depth++;
      else if (g[j] === "}" && --depth === 0) {
        const inner = g.slice(i + 1, j);
        const opts: string[] = [];
        let d = 0, last = 0;
        for (let k = 0; k < inner.length; k++) {
          if (inner[k] === "{") d++;
          else if (inner[k] === "}") d--;
          else if (inner[k] === "," && d === 0) {
            opts.push(inner.slice(last, k));
            last = k + 1;
          }
        }
        opts.push(inner.slice(last));
        return opts.flatMap((o) => alts(g.slice(0, i) + o + g.slice(j + 1)));
      }
    }
    return [g];
  };
  const m = (g: string, gi: number, si: number): boolean => {
    const key = `${g}\u0000${gi},${si}`;
    if (memo.has(key)) return memo.get(key)!;
    let r: boolean;
    if (gi === g.length) r = si === s.length;
    else if (g.startsWith("**/", gi) && (gi === 0 || g[gi - 1] === "/")) {
      r = m(g, gi + 3, si);
      for (let k = si; !r && k < s.length; k++) if (s[k] === "/") r = m(g, gi + 3, k + 1);
    } else if (g.startsWith("**", gi)) {
      let e = gi;
      while (g[e] === "*") e++;
      r = false;
      for (let k = si; !r && k <= s.length; k++) r = m(g, e, k);
    } else if (g[gi] === "*") {
      r = false;
      for (let k = si; !r && k <= s.length; k++) {
        r = m(g, gi + 1, k);
        if (s[k] === "/") break;
      }
    } else if (g[gi] === "?") r = si < s.length && s[si] !== "/" && m(g, gi + 1, si + 1);
    else if (g[gi] === "[") {
      const end = g.indexOf("]", gi + 2);
      let body = g.slice(gi + 1, end);
      const neg = body[0] === "!" || body[0] === "^";
      if (neg) body = body.slice(1);
      const set = new Set<string>();
      for (let k = 0; k < body.length; k++) {
        if (body[k + 1] === "-" && k + 2 < body.length) {
          for (let c = body.charCodeAt(k); c <= body.charCodeAt(k + 2); c++) {
            set.add(String.fromCharCode(c));
          }
          k += 2;
        } else set.add(body[k]);
      }
      r = si < s.length && set.has(s[si]) !== neg && m(g, end + 1, si + 1);
    } else if (g[gi] === "\\" && gi + 1 < g.length) r = s[si] === g[gi + 1] && m(g, gi + 2, si + 1);
    else r = s[si] === g[gi] && m(g, gi + 1, si + 1);
    memo.set(key, r);
    return r;
  };
  return alts(glob).some((g) => m(g, 0, 0));
}

interface Env {
  req: Obj;
  kind: string;
  vars: Record<string, string>;
}

function workspaceOf(env: Env): string | null {
  const c = isObj(env.req.context) ? env.req.context : {};
  const raw = Object.hasOwn(c, "workspace") ? c.workspace : env.vars.workspace;
  return typeof raw === "string" && raw.startsWith("/") ? refPath(raw) : null;
}

function baseOf(env: Env): string | undefined {
  const c = isObj(env.req.context) ? env.req.context : {};
  if (Object.hasOwn(c, "cwd") && typeof c.cwd === "string" && c.cwd.startsWith("/")) return c.cwd;
  return workspaceOf(env) ?? undefined;
}

function normResource(env: Env): string | null {
  const r = env.req.resource as string;
  if (env.kind === "path") return refPath(r, baseOf(env));
  if (env.kind === "url") return (refUrl(r)?.href as string) ?? null;
  if (env.kind === "hostport") return (refHostPort(r)?.href as string) ?? null;
  return r.length > MAX ? null : r.normalize("NFC");
}

function staticResource(kind: string, r: string): string | null {
  if (kind === "path") return refPath(r);
  if (kind === "url") return (refUrl(r)?.href as string) ?? null;
  if (kind === "hostport") return (refHostPort(r)?.href as string) ?? null;
  return r.normalize("NFC");
}

function getField(env: Env, name: string): unknown {
  if (name === "action") return env.req.action;
  if (name === "resource") return normResource(env) ?? undefined;
  if (name === "path") {
    const r = env.req.resource as string;
    if (env.kind === "path") return refPath(r, baseOf(env)) ?? undefined;
    if (env.kind === "url" && r.startsWith("file:")) return refPath(r) ?? undefined;
    return undefined;
  }
  const [root, ...keys] = name.split(".");
  if (root === "url") {
    const f = env.kind === "url"
      ? refUrl(env.req.resource as string)
      : env.kind === "hostport"
      ? refHostPort(env.req.resource as string)
      : null;
    return f ? f[keys[0]] : undefined;
  }
  let v: unknown = env.req[root];
  for (const k of keys) {
    if (v === null || typeof v !== "object") return undefined;
    if (Array.isArray(v) && !/^(0|[1-9][0-9]{0,8})$/.test(k)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(v, k)) return undefined;
    v = (v as Obj)[k];
  }
  return v;
}

function style(name: string, kinds: Set<string>): string {
  if (name === "url.host") return "host";
  if (name === "url.scheme") return "scheme";
  if (name === "path") return "path";
  if (name === "resource" && kinds.size === 1) {
    const k = [...kinds][0];
    return k === "path" ? "path" : k === "url" || k === "hostport" ? "url" : "plain";
  }
  return "plain";
}

function normVal(st: string, op: string, s: string): string {
  const exact = ["eq", "ne", "in", "not_in"].includes(op);
  if (st === "host") return refHost(s);
  if (st === "scheme") return s.toLowerCase().replace(/:$/, "");
  if (st === "path" && exact) return refPath(s) ?? s.normalize("NFC");
  if (st === "url" && exact) return (refUrl(s)?.href as string) ?? s.normalize("NFC");
  return s.normalize("NFC");
}

/** Expand `${...}` (null when a request variable is unavailable). */
function expand(s: string, env: Env): string | null {
  let out = "";
  let last = 0;
  for (const m of s.matchAll(/\$\{([^}]*)\}/g)) {
    out += s.slice(last, m.index);
    last = m.index! + m[0].length;
    const name = m[1].trim();
    let v: unknown;
    if (name === "workspace") v = workspaceOf(env);
    else if (Object.hasOwn(env.vars, name)) v = env.vars[name];
    else {
      const [root, key] = name.split(".");
      const o = env.req[root];
      v = isObj(o) && Object.hasOwn(o, key) ? o[key] : null;
    }
    if (typeof v !== "string") return null;
    out += v;
  }
  return out + s.slice(last);
}

function leaf(env: Env, name: string, op: string, val: unknown, kinds: Set<string>): Tri {
  let v = getField(env, name);
  if (op === "exists") return (v !== undefined) === val ? "T" : "F";
  if (v === undefined) return "U";
  const st = style(name, kinds);
  if (typeof v === "string") {
    if (v.length > MAX) return "U";
    v = v.normalize("NFC");
  }
  const list = (x: unknown) => (Array.isArray(x) ? x : [x]) as unknown[];
  switch (op) {
    case "eq":
    case "ne":
    case "in":
    case "not_in": {
      if (v !== null && typeof v === "object") return "U";
      let hit = false;
      let unknown = false;
      for (const x of list(val)) {
        if (typeof x === "string") {
          const e = expand(x, env);
          if (e === null) unknown = true;
          else if (normVal(st, op, e) === v) hit = true;
        } else if (x === v) hit = true;
      }
      if (!hit && unknown && typeof v === "string") return "U";
      return hit === (op === "eq" || op === "in") ? "T" : "F";
    }
    case "lt":
      return typeof v !== "number" || Number.isNaN(v) ? "U" : v < (val as number) ? "T" : "F";
    case "lte":
      return typeof v !== "number" || Number.isNaN(v) ? "U" : v <= (val as number) ? "T" : "F";
    case "gt":
      return typeof v !== "number" || Number.isNaN(v) ? "U" : v > (val as number) ? "T" : "F";
    case "gte":
      return typeof v !== "number" || Number.isNaN(v) ? "U" : v >= (val as number) ? "T" : "F";
    case "matches": {
      if (typeof v !== "string") return "U";
      const ci = st === "host" || st === "scheme";
      return list(val).some((p) =>
          RE2JS.compile(expand(p as string, env)!, ci ? RE2JS.CASE_INSENSITIVE : 0).test(
            v as string,
          )
        )
        ? "T"
        : "F";
    }
    case "glob":
      if (typeof v !== "string") return "U";
      return list(val).some((g) => {
          const e = expand(g as string, env)!;
          return st === "host"
            ? refGlob(e.toLowerCase(), (v as string).toLowerCase())
            : refGlob(e, v as string);
        })
        ? "T"
        : "F";
    case "prefix":
    case "suffix": {
      if (typeof v !== "string") return "U";
      const vals = list(val).map((x) => expand(x as string, env));
      let unknown = false;
      for (const x of vals) {
        if (x === null) {
          unknown = true;
          continue;
        }
        const n = normVal(st, op, x);
        if (op === "prefix" ? v.startsWith(n) : v.endsWith(n)) return "T";
      }
      return unknown ? "U" : "F";
    }
    case "contains": {
      const needle = typeof val === "string" ? normVal(st, op, val) : val;
      if (Array.isArray(v)) {
        return v.some((e) =>
            e === needle || (typeof e === "string" && e.normalize("NFC") === needle)
          )
          ? "T"
          : "F";
      }
      if (typeof v === "string" && typeof needle === "string") {
        return v.includes(needle) ? "T" : "F";
      }
      return "U";
    }
    case "within": {
      if (typeof v !== "string") return "U";
      const p = st === "path" ? v : refPath(v, workspaceOf(env) ?? undefined);
      if (p === null) return "U";
      let unknown = false;
      for (const r of list(val)) {
        const e = expand(r as string, env);
        const root = e !== null && e.startsWith("/") ? refPath(e) : null;
        if (root === null) {
          unknown = true;
          continue;
        }
        if (root === "/" || p === root || p.startsWith(root + "/")) return "T";
      }
      return unknown ? "U" : "F";
    }
    case "cidr": {
      if (typeof v !== "string") return "U";
      const ip = refIp(v);
      if (ip === null) return "F";
      return list(val).some((c) => refCidr(ip, c as string)) ? "T" : "F";
    }
  }
  throw new Error(`reference: unknown operator ${op}`);
}

function cond(env: Env, c: Obj, kinds: Set<string>): Tri {
  const parts: Tri[] = [];
  for (const [k, v] of Object.entries(c)) {
    if (k === "all") parts.push(and((v as Obj[]).map((x) => cond(env, x, kinds))));
    else if (k === "any") parts.push(or((v as Obj[]).map((x) => cond(env, x, kinds))));
    else if (k === "not") {
      const t = cond(env, v as Obj, kinds);
      parts.push(t === "U" ? "U" : t === "T" ? "F" : "T");
    } else {
      parts.push(and(Object.entries(v as Obj).map(([op, val]) => leaf(env, k, op, val, kinds))));
    }
  }
  return and(parts);
}

function actionsOf(rule: Doc): string[] {
  const pats: string[] = typeof rule.action === "string" ? [rule.action] : rule.action;
  return Object.keys(KINDS).filter((a) =>
    pats.some((p) => p === "*" || p === a || (p.endsWith(".*") && a.startsWith(p.slice(0, -1))))
  );
}

/** Reference decision: { effect, rule }. */
export function referenceEvaluate(
  docs: Doc[],
  req: unknown,
  options: { vars?: Record<string, string> } = {},
): { effect: string; rule: string | null } {
  if (
    !isObj(req) || typeof req.action !== "string" || typeof req.resource !== "string" ||
    !isObj(req.agent)
  ) {
    return { effect: "deny", rule: null };
  }
  const action = req.action;
  const order = ["deny", "require_approval", "allow"];
  const defaults = docs.map((d) => d.default).filter(Boolean);
  const def = order.find((e) => defaults.includes(e)) ?? "deny";
  const candidates: { id: string; effect: string }[] = [];
  for (const doc of docs) {
    const vars = { ...(doc.vars ?? {}), ...(options.vars ?? {}) };
    for (const rule of doc.rules ?? []) {
      const acts = actionsOf(rule);
      const wildcard = (typeof rule.action === "string" ? [rule.action] : rule.action).includes(
        "*",
      );
      const known = Object.hasOwn(KINDS, action);
      if (known ? !acts.includes(action) : !(wildcard && rule.resource === undefined)) continue;
      const kind = known ? KINDS[action] : "name";
      const env: Env = { req, kind, vars };
      const kinds = new Set(acts.map((a) => KINDS[a]));
      const parts: Tri[] = [];
      if (rule.resource !== undefined) {
        const rs: string[] = typeof rule.resource === "string" ? [rule.resource] : rule.resource;
        const mine = normResource(env);
        parts.push(
          mine === null ? "U" : rs.some((r) => staticResource(kind, r) === mine) ? "T" : "F",
        );
      }
      if (rule.rings) {
        const ring = Object.hasOwn(req.agent as Obj, "ring") ? (req.agent as Obj).ring : undefined;
        parts.push(
          typeof ring !== "number" || !Number.isInteger(ring)
            ? "U"
            : rule.rings.includes(ring)
            ? "T"
            : "F",
        );
      }
      if (rule.when) parts.push(cond(env, rule.when, kinds));
      const t = and(parts);
      if (t === "T" || (t === "U" && rule.effect !== "allow")) {
        candidates.push({ id: rule.id, effect: rule.effect });
      }
    }
  }
  for (const eff of order) {
    const ids = candidates.filter((c) => c.effect === eff).map((c) => c.id).sort();
    if (ids.length > 0) return { effect: eff, rule: ids[0] };
  }
  return { effect: def, rule: null };
}
