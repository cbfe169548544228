/** Compile policy sources into an indexed, immutable decision structure. */
import { ACTION_KINDS, expandActionPattern, type ResourceKind } from "./actions.ts";
import { type Bucket, buildBuckets, decideInBucket } from "./bucket.ts";
import { type CedarEngine, type CedarSet, compileCedar } from "./cedar.ts";
import { compileCondition, type CondNode } from "./conditions.ts";
import { EvalContext, F, type StaticVars, T, type Tri, U } from "./context.ts";
import { argsAreOpen, MAY_F, MAY_T, MAY_U, outcomes } from "./reach.ts";
import { PolicyError, type Problem } from "./errors.ts";
import { hostPortFacets, nfc, normalizePath, urlFacets } from "./normalize.ts";
import { type PathResolver, rootForms } from "./roots.ts";
import { uriOrNull } from "./uri.ts";
import {
  type ParsedSource,
  parseYamlSource,
  type ValidatedDocument,
  validateDocument,
} from "./parse.ts";
import type { Decision, Effect, Rule, Severity } from "./schema.ts";

/** One policy source. */
export interface PolicySource {
  text: string;
  path?: string;
  format?: "yaml" | "cedar";
}

/** Options for compiling. */
export interface CompileOptions {
  /** Name used in error positions when compiling a single text. */
  path?: string;
  format?: "yaml" | "cedar";
  /** Static variables (the host's), overriding a document's `vars:`. */
  vars?: Record<string, string>;
  /** Extra actions beyond the built-in vocabulary, with their resource kind. */
  actions?: Record<string, ResourceKind>;
  /** Resolves an `include:` entry relative to the including file; supplied by runtime loaders. */
  resolveInclude?: (include: string, from: string) => PolicySource;
  /**
   * Resolves path roots through symlinks, as the runtime resolves requests (runtime loaders
   * pass the broker's real-path function; see roots.ts). Without it, roots match as written.
   */
  resolvePath?: PathResolver;
  /**
   * The Cedar engine for `.cedar` sources (governance does no I/O; runtime loaders pass the wasm
   * bindings). Without it a Cedar source is a PolicyError; YAML needs none.
   */
  cedarEngine?: CedarEngine;
}

/** Where a rule was written. */
export interface SourceLocation {
  path: string;
  line: number;
  column: number;
}

/** A compiled rule (read-only view). */
export interface CompiledRule {
  readonly id: string;
  readonly effect: Effect;
  readonly policy: string;
  readonly location: SourceLocation;
  readonly actions: readonly string[];
  readonly resources: readonly string[] | null;
  readonly rings: ReadonlySet<number> | null;
  readonly severity?: Severity;
  /** Argument fields hidden from approvers (`args.password`). */
  readonly redact?: readonly string[];
  readonly reason?: string;
  readonly description?: string;
  /** Ring and `when:` combined; null when the rule is unconditional. */
  readonly match: CondNode | null;
  /** The decision returned when this rule decides. */
  readonly decision: Readonly<Decision>;
}

const EFFECT_ORDER: Record<Effect, number> = { deny: 0, require_approval: 1, allow: 2 };

/**
 * A resource known only by its shape (an MCP resource template), for `couldAllow`: could it
 * equal a normalized literal, and which truth values (reach.ts's MAY_F/MAY_T bits) could a
 * condition on `resource` take (undefined: any)?
 */
export interface ResourceShape {
  may(normalized: string): boolean;
  leaf(op: string, value: unknown): number | undefined;
}

/** Normalize a resource for exact-match indexing, per the action's resource kind. */
export function normalizeResource(kind: ResourceKind, value: string): string | null {
  switch (kind) {
    case "path":
      return normalizePath(value);
    case "url":
      return urlFacets(value)?.href ?? null;
    case "hostport":
      return hostPortFacets(value)?.href ?? null;
    case "uri":
      return uriOrNull(value);
    default:
      return nfc(value);
  }
}

function freezeDecision(
  effect: Effect,
  rule: string | null,
  reason: string,
  ruleReason?: string,
): Readonly<Decision> {
  return Object.freeze(
    ruleReason === undefined ? { effect, rule, reason } : { effect, rule, reason, ruleReason },
  );
}

function ruleSentence(effect: Effect, id: string, reason?: string): string {
  const verb = effect === "allow" ? "allowed" : effect === "deny" ? "denied" : "approval required";
  return `${verb} by rule "${id}"${reason ? `: ${reason}` : ""}`;
}

const MALFORMED = freezeDecision(
  "deny",
  null,
  "malformed request: expected an object with agent, action (string) and resource (string)",
);

/** A compiled policy set. `evaluate` is pure and synchronous. */
export class CompiledPolicy {
  /** Policy names in the set, in load order. */
  readonly names: readonly string[];
  /** Source paths in the set. */
  readonly sources: readonly string[];
  /** The effect when no rule matches. */
  readonly defaultEffect: Effect;
  /** Every rule, sorted by effect then id. */
  readonly rules: readonly CompiledRule[];
  /** Cedar sources in the set (combined under the same deny-overrides). */
  readonly cedar: readonly CedarSet[];
  readonly #buckets: Map<string, Bucket<CompiledRule>>;
  readonly #fallback: Bucket<CompiledRule>;
  readonly #kinds: Readonly<Record<string, ResourceKind>>;
  readonly #vars: StaticVars;
  readonly #default: Readonly<Decision>;

  /** @internal use compilePolicy / compilePolicySet */
  constructor(init: {
    names: string[];
    sources: string[];
    defaultEffect: Effect;
    defaultWritten: boolean;
    rules: CompiledRule[];
    cedar: CedarSet[];
    buckets: Map<string, Bucket<CompiledRule>>;
    fallback: Bucket<CompiledRule>;
    kinds: Record<string, ResourceKind>;
    vars: StaticVars;
  }) {
    this.names = init.names;
    this.sources = init.sources;
    this.defaultEffect = init.defaultEffect;
    this.rules = init.rules;
    this.cedar = init.cedar;
    this.#buckets = init.buckets;
    this.#fallback = init.fallback;
    this.#kinds = init.kinds;
    this.#vars = init.vars;
    this.#default = freezeDecision(
      init.defaultEffect,
      null,
      `no rule matched; the policy default is ${init.defaultEffect}${
        init.defaultWritten ? "" : " (unwritten default)"
      }`,
    );
    Object.freeze(this);
  }

  /** How the index holds each action's rules (for `policy check` and tests). */
  indexStats(): Record<
    string,
    { plain: number; keyed: number; indexed: number; field: string | null }
  > {
    const out: Record<
      string,
      { plain: number; keyed: number; indexed: number; field: string | null }
    > = {};
    const count = (l: { deny?: unknown[]; approval?: unknown[]; allow?: unknown[] }) =>
      (l.deny?.length ?? 0) + (l.approval?.length ?? 0) + (l.allow?.length ?? 0);
    for (const [a, b] of this.#buckets) {
      const total = count(b.plain) + count(b.keyedAll) + (b.field ? count(b.field.all) : 0);
      if (total === 0) continue;
      out[a] = {
        plain: count(b.plain),
        keyed: count(b.keyedAll),
        indexed: b.field ? count(b.field.all) : 0,
        field: b.field?.field.name ?? null,
      };
    }
    return out;
  }

  /** The resource kind this policy uses for an action. */
  kindOf(action: string): ResourceKind {
    return Object.hasOwn(this.#kinds, action) ? this.#kinds[action] : "name";
  }

  /** Evaluation context for a request (also used by explain). */
  context(request: Record<string, unknown>): EvalContext {
    return new EvalContext(
      request,
      request.action as string,
      this.#vars,
      this.kindOf(request.action as string),
    );
  }

  /** Decide a request. Deny-overrides: deny > require_approval > allow > default. */
  evaluate(request: unknown): Decision {
    if (!isRequest(request)) return MALFORMED;
    const bucket = this.#buckets.get(request.action as string) ?? this.#fallback;
    const ctx = this.context(request);
    const hit = decideInBucket(bucket, ctx);
    const yaml = hit ? decide(hit, ctx.tri, ctx.why) : null;
    if (this.cedar.length === 0 || yaml?.effect === "deny") return yaml ?? this.#default;
    const cedar = this.#decideCedar(ctx);
    if (cedar?.effect === "deny") return cedar;
    return yaml ?? cedar ?? this.#default;
  }

  /**
   * Could `request` be allowed (or sent for approval) for some values of its open fields
   * (`args.*` by default)? False only when a deny holds whatever they are, or no allow could
   * hold and the default is deny (see reach.ts). Cedar's entity model carries no arguments, so
   * its verdict is exact here. Not for enforcement: calls are still decided one by one.
   *
   * `shape` leaves the resource open too, known only by its shape (an MCP resource template):
   * a rule's literal `resource:` values count when the shape says it could equal them,
   * conditions on `resource` take the outcomes the shape gives (any, when it does not know),
   * and Cedar, which needs a concrete resource, is taken as possibly allowing.
   */
  couldAllow(
    request: Record<string, unknown>,
    open: (field: string) => boolean = argsAreOpen,
    shape?: ResourceShape,
  ): boolean {
    if (!isRequest(request)) return false;
    const ctx = this.context(request);
    const action = request.action as string;
    const res = ctx.resource();
    const kind = this.kindOf(action);
    const same = shape
      ? (r: string) => {
        const n = normalizeResource(kind, r);
        return n !== null && shape.may(n);
      }
      : (r: string) => normalizeResource(kind, r) === res;
    let leaf: ((node: CondNode) => number | undefined) | undefined;
    if (shape) {
      const base = open;
      open = (f) => f === "resource" || base(f);
      leaf = (node) =>
        node.field === "resource" && node.op ? shape.leaf(node.op, node.value) : undefined;
    }
    let maybe = false;
    for (const rule of this.rules) {
      if (!rule.actions.includes(action)) continue;
      if (rule.resources && !rule.resources.some(same)) continue;
      let can = rule.match ? outcomes(rule.match, ctx, open, leaf) : MAY_T;
      // An open resource may also expand to a URI the rule does not name.
      if (shape && rule.resources) can |= MAY_F;
      // Deny and require_approval fire on true or unknown, allow on true only; a deny always
      // fires when it can never be false.
      if (rule.effect === "deny") {
        if (!(can & MAY_F)) return false;
      } else if (can & (rule.effect === "allow" ? MAY_T : MAY_T | MAY_U)) maybe = true;
    }
    if (this.cedar.length > 0 && shape) maybe = true;
    else if (this.cedar.length > 0) {
      const c = this.#decideCedar(ctx);
      if (c?.effect === "deny") return false;
      if (c) maybe = true;
    }
    return maybe || this.defaultEffect !== "deny";
  }

  /** Cedar's combined verdict: any forbid denies; a permit on an unnormalizable resource is void. */
  #decideCedar(ctx: EvalContext): Decision | null {
    const { req, kind } = ctx;
    const norm = ctx.resource();
    const resource = norm ?? (req.resource as string);
    let allow: Decision | null = null;
    for (const set of this.cedar) {
      const v = set.decide(
        req.agent as Record<string, unknown>,
        req.action as string,
        resource,
        kind,
      );
      if (v?.effect === "deny") return v;
      if (v && norm !== null) allow ??= v;
    }
    return allow;
  }
}

function isRequest(r: unknown): r is Record<string, unknown> {
  if (r === null || typeof r !== "object" || Array.isArray(r)) return false;
  const o = r as Record<string, unknown>;
  return typeof o.action === "string" && typeof o.resource === "string" &&
    o.agent !== null && typeof o.agent === "object" && !Array.isArray(o.agent);
}

function decide(rule: CompiledRule, tri: Tri, why: string): Decision {
  if (tri !== U) return rule.decision;
  return {
    ...rule.decision,
    reason: `${rule.decision.reason} (fail closed: ${why || "a condition could not be evaluated"})`,
  };
}

/** Compile one policy text. Throws PolicyError with file:line:col on any problem. */
export function compilePolicy(text: string, options: CompileOptions = {}): CompiledPolicy {
  return compilePolicySet(
    [{ text, path: options.path ?? "<policy>", format: options.format }],
    options,
  );
}

/** Compile several policy sources into one set under deny-overrides. */
export function compilePolicySet(
  sources: PolicySource[],
  options: CompileOptions = {},
): CompiledPolicy {
  const problems: Problem[] = [];
  const kinds: Record<string, ResourceKind> = { ...ACTION_KINDS, ...(options.actions ?? {}) };
  const vocabulary = Object.keys(kinds);
  const docs: { doc: ValidatedDocument; source: ParsedSource }[] = [];
  const cedarSets: CedarSet[] = [];
  const seen = new Set<string>();

  const load = (src: PolicySource, chain: string[]) => {
    const path = src.path ?? "<policy>";
    if (seen.has(path)) return;
    seen.add(path);
    if (src.format === "cedar" || (src.format === undefined && path.endsWith(".cedar"))) {
      const { set, problems: p } = compileCedar(src.text, path, kinds, options.cedarEngine);
      problems.push(...p);
      if (set) cedarSets.push(set);
      return;
    }
    const parsed = parseYamlSource(src.text, path);
    const { doc, problems: p } = validateDocument(parsed);
    problems.push(...p);
    if (!doc) return;
    docs.push({ doc, source: parsed });
    (doc.include ?? []).forEach((inc, i) => {
      const at = parsed.locate.at(["include", i]);
      if (!options.resolveInclude) {
        problems.push({
          path,
          ...at,
          message: `include "${inc}": includes need a file loader (use loadPolicy)`,
        });
        return;
      }
      if (chain.includes(inc)) {
        problems.push({ path, ...at, message: `include "${inc}": include cycle` });
        return;
      }
      let next: PolicySource;
      try {
        next = options.resolveInclude(inc, path);
      } catch (e) {
        problems.push({
          path,
          ...at,
          message: `include "${inc}": ${e instanceof Error ? e.message : e}`,
        });
        return;
      }
      if (chain.includes(next.path ?? "")) {
        problems.push({ path, ...at, message: `include "${inc}": include cycle` });
        return;
      }
      load(next, [...chain, next.path ?? inc]);
    });
  };
  for (const s of sources) load(s, [s.path ?? "<policy>"]);

  const rules: CompiledRule[] = [];
  const ids = new Map<string, () => SourceLocation>();
  let defaultEffect: Effect | undefined;
  for (const { doc, source } of docs) {
    if (doc.vars && Object.hasOwn(doc.vars, "workspace")) {
      problems.push({
        path: source.path,
        ...source.locate.at(["vars", "workspace"], true),
        message: 'vars: "workspace" is reserved: the host sets it for each agent',
      });
    }
    const vars: StaticVars = { ...(doc.vars ?? {}), ...(options.vars ?? {}) };
    if (
      doc.default &&
      (defaultEffect === undefined || EFFECT_ORDER[doc.default] < EFFECT_ORDER[defaultEffect])
    ) {
      defaultEffect = doc.default;
    }
    doc.rules.forEach((rule, i) => {
      if (!rule) return;
      const here = () => ({ path: source.path, ...source.locate.at(["rules", i]) });
      const prevAt = ids.get(rule.id);
      if (prevAt) {
        const prev = prevAt();
        problems.push({
          path: source.path,
          ...source.locate.at(["rules", i, "id"]),
          message:
            `duplicate rule id "${rule.id}" (first defined at ${prev.path}:${prev.line}:${prev.column})`,
        });
      } else ids.set(rule.id, here);
      const r = compileRule(
        rule,
        i,
        doc,
        source,
        vars,
        vocabulary,
        kinds,
        problems,
        options.resolvePath,
      );
      if (r) rules.push(r);
    });
  }
  if (problems.length > 0) throw new PolicyError(problems);

  rules.sort((a, b) =>
    EFFECT_ORDER[a.effect] - EFFECT_ORDER[b.effect] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
  const { buckets, fallback } = buildBuckets(rules, vocabulary, kinds, normalizeResource);
  return new CompiledPolicy({
    names: docs.map((d) => d.doc.name),
    sources: [...docs.map((d) => d.source.path), ...cedarSets.map((c) => c.path)],
    defaultEffect: defaultEffect ?? "deny",
    defaultWritten: defaultEffect !== undefined,
    rules,
    cedar: cedarSets,
    buckets,
    fallback,
    kinds,
    vars: { ...(options.vars ?? {}) },
  });
}

function compileRule(
  rule: Rule,
  i: number,
  doc: ValidatedDocument,
  source: ParsedSource,
  vars: StaticVars,
  vocabulary: string[],
  kinds: Record<string, ResourceKind>,
  problems: Problem[],
  resolvePath?: PathResolver,
): CompiledRule | null {
  const at = ["rules", i] as const;
  let location: SourceLocation | undefined;
  const locate = () => location ??= { path: source.path, ...source.locate.at(at) };
  const before = problems.length;
  const actions = new Set<string>();
  const patterns = typeof rule.action === "string" ? [rule.action] : rule.action;
  patterns.forEach((p, j) => {
    const hit = expandActionPattern(p, vocabulary);
    if (!hit) {
      problems.push({
        path: source.path,
        ...source.locate.at(
          typeof rule.action === "string" ? [...at, "action"] : [...at, "action", j],
        ),
        message: `rule "${rule.id}": unknown action "${p}" (known: ${
          vocabulary.join(", ")
        }, or a wildcard like fs.*)`,
      });
    } else hit.forEach((a) => actions.add(a));
  });
  if (patterns.includes("*")) actions.add("*");
  const kindSet = new Set([...actions].filter((a) => a !== "*").map((a) => kinds[a]));
  let resources: string[] | null = null;
  if (rule.resource !== undefined) {
    resources = typeof rule.resource === "string" ? [rule.resource] : rule.resource;
    resources.forEach((res, j) => {
      const where = typeof rule.resource === "string"
        ? [...at, "resource"]
        : [...at, "resource", j];
      if (res.includes("${")) {
        problems.push({
          path: source.path,
          ...source.locate.at(where),
          message:
            `rule "${rule.id}": resource must be literal; use when: resource: {...} for variables`,
        });
        return;
      }
      for (const a of actions) {
        if (a === "*") continue;
        if (normalizeResource(kinds[a], res) === null) {
          problems.push({
            path: source.path,
            ...source.locate.at(where),
            message: `rule "${rule.id}": resource "${res}" is not a valid ${kinds[a]} for ${a}`,
          });
          return;
        }
      }
    });
  }
  const parts: CondNode[] = [];
  const rings = rule.rings ? new Set(rule.rings) : null;
  if (rings) parts.push(ringsNode(rings));
  if (rule.when !== undefined) {
    const c = compileCondition(rule.when, [...at, "when"], {
      source,
      problems,
      vars,
      kinds: kindSet,
      resolvePath,
    });
    if (c) parts.push(c);
  }
  if (problems.length > before) return null;
  // Literal file resources match in their resolved form too (see roots.ts).
  const fileOnly = [...actions].every((a) => a !== "*" && kinds[a] === "path");
  if (resources && resolvePath && fileOnly) {
    resources = [
      ...new Set(
        resources.flatMap((r) => {
          const p = normalizePath(r);
          return p === null ? [r] : [r, ...rootForms(p, resolvePath).slice(1)];
        }),
      ),
    ];
  }
  const match = parts.length === 0 ? null : parts.length === 1 ? parts[0] : {
    text: "all",
    eval: (ctx: EvalContext) => {
      const x = parts[0].eval(ctx);
      if (x === F) return F;
      const y = parts[1].eval(ctx);
      return y === F ? F : x === U || y === U ? U : T;
    },
    children: parts,
  } as CondNode;
  return {
    id: rule.id,
    effect: rule.effect,
    policy: doc.name,
    get location() {
      return locate();
    },
    actions: [...actions],
    resources,
    rings,
    severity: rule.severity,
    redact: rule.redact,
    reason: rule.reason,
    description: rule.description,
    match,
    decision: freezeDecision(
      rule.effect,
      rule.id,
      ruleSentence(rule.effect, rule.id, rule.reason),
      rule.reason || undefined,
    ),
  };
}

function ringsNode(rings: Set<number>): CondNode {
  const text = `agent.ring in ${JSON.stringify([...rings])}`;
  return {
    text,
    eval: (ctx) => {
      const agent = ctx.req.agent as Record<string, unknown>;
      const ring = Object.hasOwn(agent, "ring") ? agent.ring : undefined;
      if (typeof ring !== "number" || !Number.isInteger(ring)) {
        ctx.why = "agent.ring is not an integer";
        return U;
      }
      return rings.has(ring) ? T : F;
    },
  };
}
