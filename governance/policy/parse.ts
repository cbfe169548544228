/** YAML policy source -> validated PolicyDocument, with every problem at file:line:col. */
import { load } from "js-yaml";
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { z } from "zod";
import type { Problem } from "./errors.ts";
import { type PolicyDocument, PolicyShell, Rule } from "./schema.ts";

/** A key or index on the way from the document root to a node. */
export type PathPart = string | number;

/** Finds the source position of a path in a parsed document. */
export interface Locator {
  /** Position of the value at `path`, or of the key when `key` is true. */
  at(path: readonly PathPart[], key?: boolean): { line: number; column: number };
}

/** A parsed source: the plain data, how to locate its parts, and the problems found. */
export interface ParsedSource {
  path: string;
  data: unknown;
  locate: Locator;
  problems: Problem[];
}

/** Largest policy source accepted, in characters. */
export const MAX_POLICY_BYTES = 16 * 1024 * 1024;

function child(node: unknown, part: PathPart): { key?: Node; value?: Node } | undefined {
  if (isMap(node)) {
    for (const item of node.items) {
      if (isPair(item) && isScalar(item.key) && String(item.key.value) === String(part)) {
        return { key: item.key as Node, value: (item.value ?? undefined) as Node | undefined };
      }
    }
    return undefined;
  }
  if (isSeq(node) && typeof part === "number") {
    const v = node.items[part];
    return v ? { value: v as Node } : undefined;
  }
  return undefined;
}

/** Largest number of nodes a policy may expand to (aliases can make a DAG look huge). */
const MAX_NODES = 1_000_000;

function tooManyNodes(data: unknown): boolean {
  let budget = MAX_NODES;
  const stack: unknown[] = [data];
  while (stack.length > 0) {
    const v = stack.pop();
    if (--budget < 0) return true;
    if (v !== null && typeof v === "object") {
      for (const x of Object.values(v as Record<string, unknown>)) stack.push(x);
    }
  }
  return false;
}

/**
 * Keys no document may use. `__proto__` is dropped (or re-parents the object) when data is copied
 * into a plain object, which is what schema validation does, so the value it held would vanish
 * silently; `constructor` and `prototype` name what every plain object inherits. `<<` is the YAML
 * merge key: neither parser merges by default, and a document must not look as if it did.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  "__proto__",
  "constructor",
  "prototype",
  "<<",
]);

/** Why `key` is refused, or null when it is an ordinary key. */
export function forbiddenKey(key: string): string | null {
  if (!FORBIDDEN_KEYS.has(key)) return null;
  return key === "<<"
    ? 'YAML merge key "<<" is not allowed; write the keys out'
    : `prototype key "${key}" is not allowed`;
}

/** A node on the walk, linked to its parent so a path is built only for a problem. */
interface Step {
  v: unknown;
  parent: Step | null;
  key: PathPart;
}

function pathOf(s: Step): PathPart[] {
  const out: PathPart[] = [];
  for (let x: Step | null = s; x && x.parent; x = x.parent) out.push(x.key);
  return out.reverse();
}

/** Every forbidden key in `data`, at its source position. Each object is visited once. */
function forbiddenKeys(data: unknown, locate: Locator, path: string): Problem[] {
  const out: Problem[] = [];
  const seen = new WeakSet<object>();
  const stack: Step[] = [{ v: data, parent: null, key: "" }];
  while (stack.length > 0) {
    const step = stack.pop()!;
    const v = step.v;
    if (v === null || typeof v !== "object" || seen.has(v)) continue;
    seen.add(v);
    if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push({ v: x, parent: step, key: i }));
      continue;
    }
    for (const k of Object.keys(v)) {
      const why = forbiddenKey(k);
      if (why) {
        const at = pathOf(step);
        const where = renderPath(at);
        out.push({
          path,
          ...locate.at([...at, k], true),
          message: where ? `${why} (in ${where})` : why,
        });
      }
      stack.push({ v: (v as Record<string, unknown>)[k], parent: step, key: k });
    }
  }
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Positions come from the `yaml` package (slow, exact); built only when a problem is found. */
function lazyLocator(
  text: string,
): { locate: Locator; syntax: () => Problem[] | null; empty: () => boolean } {
  let built: { doc: ReturnType<typeof parseDocument>; counter: LineCounter } | null = null;
  const build = () => {
    if (!built) {
      const counter = new LineCounter();
      const doc = parseDocument(text, {
        lineCounter: counter,
        prettyErrors: false,
        uniqueKeys: true,
      });
      built = { doc, counter };
    }
    return built;
  };
  const pos = (offset: number) => {
    const lp = build().counter.linePos(offset);
    return { line: lp.line, column: lp.col };
  };
  const locate: Locator = {
    at(parts, key = false) {
      let node: unknown = build().doc.contents;
      let best = node as Node | null;
      let keyNode: Node | undefined;
      for (const part of parts) {
        const c = child(node, part);
        if (!c) break;
        keyNode = c.key;
        node = c.value;
        if (c.value) best = c.value;
        else if (c.key) best = c.key;
      }
      const target = key && keyNode ? keyNode : best;
      return pos(target?.range?.[0] ?? 0);
    },
  };
  const syntax = () => {
    const { doc } = build();
    if (doc.errors.length === 0) return null;
    return doc.errors.map((e) => ({
      path: "",
      ...pos(e.pos[0]),
      message: `YAML: ${e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")}`,
    }));
  };
  const empty = () => build().doc.contents === null;
  return { locate, syntax, empty };
}

/**
 * Parse YAML text. The data comes from js-yaml (fast); source positions are computed by the
 * `yaml` package only when there is a problem to report.
 */
export function parseYamlSource(text: string, path: string): ParsedSource {
  const { locate, syntax, empty } = lazyLocator(text);
  const fail = (problems: Problem[]): ParsedSource => ({ path, data: undefined, locate, problems });
  if (text.length > MAX_POLICY_BYTES) {
    return fail([{ path, line: 1, column: 1, message: "policy file is larger than 16 MiB" }]);
  }
  let data: unknown;
  try {
    data = load(text, { filename: path });
  } catch (e) {
    const precise = syntax();
    if (precise) return fail(precise.map((p) => ({ ...p, path })));
    if (empty()) return fail([{ path, line: 1, column: 1, message: "empty policy file" }]);
    const ex = e as { reason?: string; mark?: { line: number; column: number }; message?: string };
    return fail([{
      path,
      line: (ex.mark?.line ?? 0) + 1,
      column: (ex.mark?.column ?? 0) + 1,
      message: `YAML: ${ex.reason ?? ex.message ?? String(e)}`,
    }]);
  }
  if (data === undefined || data === null || text.trim() === "") {
    return fail([{ path, line: 1, column: 1, message: "empty policy file" }]);
  }
  if (tooManyNodes(data)) {
    return fail([{
      path,
      line: 1,
      column: 1,
      message: `policy expands to more than ${MAX_NODES} nodes (alias bomb?)`,
    }]);
  }
  const forbidden = forbiddenKeys(data, locate, path);
  if (forbidden.length > 0) return fail(forbidden);
  return { path, data, locate, problems: [] };
}

/** Render a path for messages: `rules[2].when.all[0]`. */
export function renderPath(parts: readonly PathPart[]): string {
  let out = "";
  for (const p of parts) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? p : `.${p}`;
  }
  return out;
}

function valueAt(data: unknown, parts: readonly PathPart[]): unknown {
  let v = data;
  for (const p of parts) {
    if (v === null || typeof v !== "object" || !Object.hasOwn(v, p)) return undefined;
    v = (v as Record<string, unknown>)[p as string];
  }
  return v;
}

/** Turn zod issues into positioned problems with readable messages. */
export function zodProblems(
  error: z.ZodError,
  source: ParsedSource,
  prefix: readonly PathPart[] = [],
): Problem[] {
  const out: Problem[] = [];
  for (const issue of error.issues) {
    const parts = [...prefix, ...(issue.path as PathPart[])];
    const where = renderPath(parts);
    if (issue.code === "unrecognized_keys") {
      for (const k of issue.keys) {
        const at = source.locate.at([...parts, k], true);
        out.push({
          path: source.path,
          ...at,
          message: `unknown key "${k}"${where ? ` in ${where}` : ""}`,
        });
      }
      continue;
    }
    const missing = valueAt(source.data, parts) === undefined && parts.length > 0;
    const at = source.locate.at(parts, missing);
    const message = missing
      ? `missing required key "${parts[parts.length - 1]}"${
        parts.length > 1 ? ` in ${renderPath(parts.slice(0, -1))}` : ""
      }`
      : `${where || "policy"}: ${issue.message}`;
    out.push({ path: source.path, ...at, message });
  }
  return out;
}

/** A document whose invalid rules are null (so rule indices keep their source positions). */
export type ValidatedDocument = Omit<PolicyDocument, "rules"> & { rules: (Rule | null)[] };

/** Validate parsed data as a PolicyDocument, each rule on its own. */
export function validateDocument(
  source: ParsedSource,
): { doc?: ValidatedDocument; problems: Problem[] } {
  if (source.problems.length > 0) return { problems: source.problems };
  if (source.data === null || typeof source.data !== "object" || Array.isArray(source.data)) {
    return {
      problems: [{
        path: source.path,
        ...source.locate.at([]),
        message: "a policy must be a mapping with apiVersion, kind, name and rules",
      }],
    };
  }
  const shell = PolicyShell.safeParse(source.data);
  if (!shell.success) return { problems: zodProblems(shell.error, source) };
  const problems: Problem[] = [];
  const rules = shell.data.rules.map((raw, i) => {
    const r = Rule.safeParse(raw);
    if (r.success) return r.data;
    problems.push(...zodProblems(r.error, source, ["rules", i]));
    return null;
  });
  return { doc: { ...shell.data, rules }, problems };
}
