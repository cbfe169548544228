/** A compiled policy set and its decision evaluation (compile.ts builds it). */
import type { ResourceKind } from "./actions.ts";
import { type Bucket, decideInBucket } from "./bucket.ts";
import type { CedarSet } from "./cedar.ts";
import type { CondNode } from "./conditions.ts";
import { EvalContext, type StaticVars, type Tri, U } from "./context.ts";
import { argsAreOpen, MAY_F, MAY_T, MAY_U, outcomes } from "./reach.ts";
import { hostPortFacets, nfc, normalizePath, urlFacets } from "./normalize.ts";
import { uriOrNull } from "./uri.ts";
import type { Decision, Effect, Severity } from "./schema.ts";

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

/** A frozen decision (rule reason included only when written). */
export function freezeDecision(
  effect: Effect,
  rule: string | null,
  reason: string,
  ruleReason?: string,
): Readonly<Decision> {
  return Object.freeze(
    ruleReason === undefined ? { effect, rule, reason } : { effect, rule, reason, ruleReason },
  );
}

const NO_REQUEST: Record<string, unknown> = Object.freeze({});

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
  /** The context `evaluate` reuses; null while a decision is using it (re-entry gets its own). */
  #spare: EvalContext | null = null;

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
    const action = request.action as string;
    const bucket = this.#buckets.get(action) ?? this.#fallback;
    const spare = this.#spare;
    this.#spare = null;
    const ctx = spare ? spare.reuse(request, action, this.kindOf(action)) : this.context(request);
    try {
      const hit = decideInBucket(bucket, ctx);
      const yaml = hit ? decide(hit, ctx.tri, ctx.why) : null;
      if (this.cedar.length === 0 || yaml?.effect === "deny") return yaml ?? this.#default;
      const cedar = this.#decideCedar(ctx);
      if (cedar?.effect === "deny") return cedar;
      return yaml ?? cedar ?? this.#default;
    } finally {
      this.#spare = ctx.reuse(NO_REQUEST, "", "name"); // keeps no reference to the request
    }
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
