/**
 * Compile policy sources into an indexed, immutable decision structure (the rules here; the
 * compiled set and its evaluation in evaluate.ts, re-exported).
 */
import { ACTION_KINDS, expandActionPattern, type ResourceKind } from "./actions.ts";
import { buildBuckets } from "./bucket.ts";
import { type CedarEngine, type CedarSet, compileCedar } from "./cedar.ts";
import { compileCondition, type CondNode } from "./conditions.ts";
import { EvalContext, F, type StaticVars, T, U } from "./context.ts";
import { PolicyError, type Problem } from "./errors.ts";
import {
  CompiledPolicy,
  type CompiledRule,
  freezeDecision,
  normalizeResource,
  type SourceLocation,
} from "./evaluate.ts";
import { normalizePath } from "./normalize.ts";
import { type PathResolver, rootForms } from "./roots.ts";
import {
  type ParsedSource,
  parseYamlSource,
  type ValidatedDocument,
  validateDocument,
} from "./parse.ts";
import type { Effect, Rule } from "./schema.ts";

export {
  CompiledPolicy,
  type CompiledRule,
  normalizeResource,
  type ResourceShape,
  type SourceLocation,
} from "./evaluate.ts";

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

const EFFECT_ORDER: Record<Effect, number> = { deny: 0, require_approval: 1, allow: 2 };

function ruleSentence(effect: Effect, id: string, reason?: string): string {
  const verb = effect === "allow" ? "allowed" : effect === "deny" ? "denied" : "approval required";
  return `${verb} by rule "${id}"${reason ? `: ${reason}` : ""}`;
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
