/**
 * Ring ceilings: what each of the four rings may ever do, in Deno's permission vocabulary
 * plus the SDK capabilities. Ceilings compile to a policy (same engine, same normalization);
 * a request outside its agent's ring ceiling is denied before the policy sees it.
 */
import { z } from "zod";
import { type CompiledPolicy, compilePolicy } from "../policy/compile.ts";
import { PolicyError } from "../policy/errors.ts";
import { parseYamlSource, zodProblems } from "../policy/parse.ts";
import type { Decision } from "../policy/schema.ts";
import { BudgetsSection } from "./budgets.ts";

const Patterns = z.union([z.boolean(), z.array(z.string())], {
  error: "expected true, false or a list of patterns",
});
const Flag = z.boolean({ error: "expected true or false" });

/** One ring's ceiling. */
export const RingCeiling = z.strictObject({
  read: Patterns,
  write: Patterns,
  net: Patterns,
  env: Patterns,
  sys: Patterns,
  run: Patterns,
  ffi: Patterns,
  import: Patterns,
  tools: Flag,
  messages: Flag,
  outputs: Flag,
  plugins: Flag,
  memory: Flag,
});
export type RingCeiling = z.infer<typeof RingCeiling>;

/** The rings document (`kind: Rings`). */
export const RingsDocument = z.strictObject({
  apiVersion: z.literal("warden/v1", { error: 'expected "warden/v1"' }),
  kind: z.literal("Rings", { error: 'expected "Rings"' }),
  rings: z.strictObject({ 0: RingCeiling, 1: RingCeiling, 2: RingCeiling, 3: RingCeiling }),
  /** Resource budgets per ring (`budgets.ts`); left-out values take the built-in defaults. */
  budgets: BudgetsSection.optional(),
});
export type RingsDocument = z.infer<typeof RingsDocument>;

export type Ring = 0 | 1 | 2 | 3;
export const RINGS: readonly Ring[] = [0, 1, 2, 3];

/**
 * A path ceiling: `${workspace}` and literal roots are trees; `${code}` is the agent's own code,
 * exactly the modules of its graph (`context.ownCode`, set by the host) and the SDK tree. For
 * `import`, `${code}` also lets the policy see the other files of the entry's directory (data
 * imports, files the graph does not name) and of its package-store directory (its installed npm
 * packages, read as module loads): there the policy decides, deny by default.
 */
function pathCondition(list: string[], importing = false): Record<string, unknown> {
  const code = list.includes("${code}");
  const trees = [
    ...list.filter((r) => r !== "${code}"),
    ...(code ? ["${context.sdk}"] : []),
    ...(code && importing ? ["${context.code}", "${context.store}"] : []),
  ];
  const inTrees = { path: { within: trees } };
  return code ? { any: [{ "context.ownCode": { eq: true } }, inTrees] } : inTrees;
}

type Rule = Record<string, unknown>;

function netCondition(patterns: string[]): Record<string, unknown> {
  return {
    any: patterns.map((p) => {
      const m = /^(.*?)(?::(\d+|\*))?$/.exec(p)!;
      const host = m[1], port = m[2];
      const parts: Record<string, unknown>[] = [];
      if (host !== "*") parts.push({ "url.host": { glob: host } });
      if (port && port !== "*") parts.push({ "url.port": { eq: Number(port) } });
      if (parts.length === 0) parts.push({ "url.host": { exists: true } });
      return { all: parts };
    }),
  };
}

function ringRules(ring: Ring, c: RingCeiling): Rule[] {
  const out: Rule[] = [];
  const add = (name: string, action: string | string[], when?: Record<string, unknown>) =>
    out.push({
      id: `ring${ring}-${name}`,
      effect: "allow",
      action,
      rings: [ring],
      ...(when ? { when } : {}),
    });
  const scoped = (
    name: string,
    action: string | string[],
    value: boolean | string[],
    cond: (list: string[]) => Record<string, unknown>,
  ) => {
    if (value === true) add(name, action);
    else if (Array.isArray(value) && value.length > 0) add(name, action, cond(value));
  };
  scoped("read", "fs.read", c.read, (l) => pathCondition(l));
  scoped("write", "fs.write", c.write, (l) => pathCondition(l));
  scoped("net", ["net.connect", "net.fetch"], c.net, netCondition);
  scoped("env", "env.get", c.env, (l) => ({ resource: { in: l } }));
  scoped("sys", "sys", c.sys, (l) => ({ resource: { in: l } }));
  scoped("run", "run", c.run, (l) => ({ resource: { in: l } }));
  scoped("ffi", "ffi", c.ffi, (l) => pathCondition(l));
  if (c.import === true) add("import", "import");
  else if (Array.isArray(c.import)) {
    const local = c.import.filter((x) => x !== "remote");
    if (local.length > 0) add("import-local", "import", pathCondition(local, true));
    if (c.import.includes("remote")) {
      add("import-remote", "import", { "url.scheme": { eq: "https" } });
    }
  }
  if (c.tools) {
    add("tools", [
      "tool.call",
      "saga.run",
      "mcp.resource.read",
      "mcp.prompt.get",
      "mcp.sampling",
      "mcp.elicitation",
      "mcp.roots",
    ]);
  }
  if (c.messages) add("messages", ["message.send", "message.receive"]);
  if (c.outputs) add("outputs", "output.emit");
  if (c.plugins) add("plugins", "plugin.load");
  if (c.memory) add("memory", ["memory.read", "memory.write", "memory.delete"]);
  return out;
}

/** Compiled ring ceilings. */
export class RingCeilings {
  readonly doc: RingsDocument;
  readonly #policy: CompiledPolicy;
  readonly #label: string;

  /** `label` starts every denial's reason ("ring ceiling" for rings). */
  constructor(doc: RingsDocument, label = "ring ceiling") {
    this.doc = doc;
    this.#label = label;
    const rules = RINGS.flatMap((r) => ringRules(r, doc.rings[r]));
    const policy = {
      apiVersion: "warden/v1",
      kind: "Policy",
      name: "ring-ceilings",
      default: "deny",
      rules,
    };
    this.#policy = compilePolicy(JSON.stringify(policy), { path: "<ring ceilings>" });
  }

  /**
   * Is the request within its agent's ring ceiling? Returns null when it is, else a deny
   * Decision whose reason starts with "ring ceiling" (the ceiling is the rule: its sentence is
   * also the decision's `ruleReason`). The request's context must carry `workspace`, `code` and
   * `sdk` roots for path checks.
   */
  check(request: unknown): Decision | null {
    const d = this.#policy.evaluate(request);
    if (d.effect === "allow") return null;
    const r = request as { agent?: { ring?: unknown }; action?: unknown; resource?: unknown };
    const reason = `${this.#label}: ${
      this.#label === "ring ceiling" ? `ring ${String(r.agent?.ring)}` : "it"
    } does not allow ${String(r.action)} ${JSON.stringify(String(r.resource)).slice(0, 200)}`;
    return { effect: "deny", rule: null, reason, ruleReason: reason };
  }
}

/** Declared capabilities: a partial ceiling; whatever is left out is not allowed. */
export const Capabilities = RingCeiling.partial();
export type Capabilities = z.infer<typeof Capabilities>;

/**
 * A second ceiling from declared capabilities (plugins): a request must pass both its ring's
 * ceiling and this. Left-out keys allow nothing, except importing the process's own code.
 */
export function capabilityCeiling(caps: Capabilities, label: string): RingCeilings {
  const full: RingCeiling = {
    read: false,
    write: false,
    net: false,
    env: false,
    sys: false,
    run: false,
    ffi: false,
    import: ["${code}"],
    tools: false,
    messages: false,
    outputs: false,
    plugins: false,
    memory: false,
    ...caps,
  };
  return new RingCeilings({
    apiVersion: "warden/v1",
    kind: "Rings",
    rings: { 0: full, 1: full, 2: full, 3: full },
  }, label);
}

/** Parse and compile a rings document; throws PolicyError with positions. */
export function compileRings(text: string, path = "<rings>"): RingCeilings {
  const src = parseYamlSource(text, path);
  if (src.problems.length > 0) throw new PolicyError(src.problems);
  const r = RingsDocument.safeParse(src.data);
  if (!r.success) throw new PolicyError(zodProblems(r.error, src));
  return new RingCeilings(r.data);
}

/**
 * `sys` names Deno checks but does not accept in `--allow-sys` (`process.umask()` asks for
 * `umask`): decided by the broker only, never written into the flag.
 */
const BROKER_ONLY_SYS = new Set(["umask"]);

/**
 * Deno permission flags for a ring: a second ceiling that holds whenever the broker is not
 * consulted. `vars` gives the absolute roots for `${workspace}` and `${code}` (the own-code
 * files of the agent's graph, one by one, and the SDK tree: never the entry's directory).
 */
export function ringFlags(c: RingCeiling, vars: { workspace: string; code: string[] }): string[] {
  const expand = (l: string[]) =>
    l.flatMap((x) => x === "${workspace}" ? [vars.workspace] : x === "${code}" ? vars.code : [x]);
  const flag = (name: string, v: boolean | string[], map = expand) =>
    v === true
      ? [`--allow-${name}`]
      : Array.isArray(v) && v.length > 0
      ? [`--allow-${name}=${map(v).join(",")}`]
      : [];
  return [
    ...flag("read", c.read),
    ...flag("write", c.write),
    ...flag("net", c.net, (l) => l),
    ...flag("env", c.env, (l) => l),
    ...flag("sys", c.sys, (l) => l.filter((n) => !BROKER_ONLY_SYS.has(n))),
    ...flag("run", c.run, (l) => l),
    ...flag("ffi", c.ffi),
    ...(c.import === true ? ["--allow-import"] : []),
  ];
}
