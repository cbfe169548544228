/**
 * Cedar policies, evaluated in-process by the official engine (`@cedar-policy/cedar-wasm`).
 *
 * Entity model (see DESIGN.md, "Cedar"):
 * - principal `Agent::"<agent.id>"` with `ring: Long`, optional `trust: Long` (0..1000) and
 *   `name: String`; agent labels are Cedar tags (`principal.getTag("team")`).
 * - action `Action::"<action>"`, one per action in the vocabulary (`Action::"fs.read"`).
 * - resource `Resource::"<normalized resource>"` with `value: String` (the normalized resource,
 *   for `like`) and `kind: String` (path, url, hostport or name).
 * - context is empty.
 *
 * `permit` = allow, `forbid` = deny; no satisfied policy = no opinion (the set's default or YAML
 * decides). A policy that errors is skipped, except an erroring `forbid`, which denies: a
 * deny rule that cannot be evaluated must not open the door.
 *
 * Policy sets are preparsed once and sliced per action, and per (action, resource) for policies
 * pinned with `resource == Resource::"…"` (unconstrained policies go in every slice they can
 * apply to); evaluation never parses text and evaluates only the policies that can apply.
 *
 * The engine is injected (`CedarEngine`): governance does no I/O, and the wasm is read and
 * instantiated by the runtime (runtime/policy/cedar_engine.ts).
 */
import type * as cedar from "@cedar-policy/cedar-wasm";
import type { ResourceKind } from "./actions.ts";
import type { Problem } from "./errors.ts";

/** The Cedar schema text for a vocabulary of actions. */
export function cedarSchema(actions: readonly string[]): string {
  const list = actions.map((a) => JSON.stringify(a)).join(", ");
  return `entity Agent { ring: Long, trust?: Long, name?: String } tags String;
entity Resource { value: String, kind: String };
action ${list} appliesTo { principal: Agent, resource: Resource };
`;
}

/** Cedar's answer for one request, before combining with YAML. */
export interface CedarVerdict {
  effect: "allow" | "deny";
  rule: string;
  reason: string;
  /** The deciding policy's `@reason("…")` annotation, when it has one. */
  ruleReason?: string;
}

/** The parts of the Cedar wasm bindings the compiler and evaluator use (injected by the runtime). */
export type CedarEngine = Pick<
  typeof cedar,
  | "policySetTextToParts"
  | "policyToJson"
  | "validate"
  | "preparsePolicySet"
  | "statefulIsAuthorized"
>;

let nextSet = 0;

/** A compiled Cedar source. */
export class CedarSet {
  /** Source path. */
  readonly path: string;
  /** Policy ids, in source order. */
  readonly ids: readonly string[];
  readonly #slices: ReadonlyMap<string, { id: string; forbids: ReadonlySet<string> }>;
  readonly #engine: CedarEngine;
  /** Each policy's `@reason` annotation, by id. */
  readonly #reasons: ReadonlyMap<string, string>;

  /** @internal use compileCedar */
  constructor(
    path: string,
    ids: string[],
    slices: Map<string, { id: string; forbids: ReadonlySet<string> }>,
    engine: CedarEngine,
    reasons: ReadonlyMap<string, string> = new Map(),
  ) {
    this.path = path;
    this.ids = ids;
    this.#slices = slices;
    this.#engine = engine;
    this.#reasons = reasons;
    Object.freeze(this);
  }

  /** Decide a request whose resource is already normalized; null when no policy applies. */
  decide(
    agent: Record<string, unknown>,
    action: string,
    resource: string,
    kind: ResourceKind,
  ): CedarVerdict | null {
    const slice = this.#slices.get(`${action}\0${resource}`) ?? this.#slices.get(action);
    if (!slice) return null;
    const entity = agentEntity(agent);
    if (typeof entity === "string") {
      return { effect: "deny", rule: this.path, reason: `denied: ${entity} (fail closed)` };
    }
    const { attrs, tags } = entity;
    const principal = { type: "Agent", id: agent.id as string };
    const res = { type: "Resource", id: resource };
    const answer = this.#engine.statefulIsAuthorized({
      principal,
      action: { type: "Action", id: action },
      resource: res,
      context: {},
      preparsedPolicySetId: slice.id,
      entities: [
        { uid: principal, attrs, parents: [], tags },
        { uid: res, attrs: { value: resource, kind }, parents: [] },
      ],
    });
    if (answer.type === "failure") {
      return {
        effect: "deny",
        rule: this.path,
        reason: `denied: Cedar could not evaluate the request (fail closed: ${
          answer.errors.map((e) => e.message).join("; ")
        })`,
      };
    }
    const { decision, diagnostics } = answer.response;
    const broken = diagnostics.errors.find((e) => slice.forbids.has(e.policyId));
    if (broken) {
      return this.#verdict(
        "deny",
        broken.policyId,
        `denied by Cedar policy "${broken.policyId}" (fail closed: ${broken.error.message})`,
      );
    }
    if (diagnostics.reason.length === 0) return null;
    let rule = diagnostics.reason[0];
    for (const id of diagnostics.reason) if (id < rule) rule = id;
    return decision === "deny"
      ? this.#verdict("deny", rule, `denied by Cedar policy "${rule}"`)
      : this.#verdict("allow", rule, `allowed by Cedar policy "${rule}"`);
  }

  /** A verdict of policy `rule`, with its `@reason` when it has one. */
  #verdict(effect: "allow" | "deny", rule: string, reason: string): CedarVerdict {
    const ruleReason = this.#reasons.get(rule);
    return ruleReason === undefined
      ? { effect, rule, reason }
      : { effect, rule, reason, ruleReason };
  }
}

/** The Agent entity's attributes and tags, or why the agent block cannot be represented. */
function agentEntity(
  agent: Record<string, unknown>,
): { attrs: Record<string, cedar.CedarValueJson>; tags: Record<string, string> } | string {
  if (typeof agent.id !== "string") return "agent.id is not a string";
  if (typeof agent.ring !== "number" || !Number.isInteger(agent.ring)) {
    return "agent.ring is not an integer";
  }
  const attrs: Record<string, cedar.CedarValueJson> = { ring: agent.ring };
  if (agent.trust !== undefined) {
    if (typeof agent.trust !== "number" || !Number.isFinite(agent.trust)) {
      return "agent.trust is not a number";
    }
    attrs.trust = Math.floor(agent.trust);
  }
  if (typeof agent.name === "string") attrs.name = agent.name;
  const tags: Record<string, string> = {};
  if (agent.labels !== undefined) {
    if (agent.labels === null || typeof agent.labels !== "object") {
      return "agent.labels is not a map of strings";
    }
    for (const [k, v] of Object.entries(agent.labels)) {
      if (typeof v !== "string") return `agent.labels.${k} is not a string`;
      tags[k] = v;
    }
  }
  return { attrs, tags };
}

function position(text: string, offset: number): { line: number; column: number } {
  let line = 1, column = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") line++, column = 1;
    else column++;
  }
  return { line, column };
}

function toProblems(path: string, text: string, errors: cedar.DetailedError[]): Problem[] {
  return errors.map((e) => ({
    path,
    ...position(text, e.sourceLocations?.[0]?.start ?? 0),
    message: `cedar: ${e.message}${e.help ? ` (${e.help})` : ""}`,
  }));
}

/**
 * Compile a `.cedar` source against the action vocabulary with the injected engine; problems
 * carry file:line:col. Without an engine the source is refused with one problem.
 */
export function compileCedar(
  text: string,
  path: string,
  kinds: Readonly<Record<string, ResourceKind>>,
  engine?: CedarEngine,
): { set: CedarSet | null; problems: Problem[] } {
  if (!engine) {
    return {
      set: null,
      problems: [{
        path,
        line: 1,
        column: 1,
        message:
          "cedar: no Cedar engine was given (pass `cedarEngine` in the compile options; the runtime's loadPolicy does)",
      }],
    };
  }
  const parts = engine.policySetTextToParts(text);
  if (parts.type === "failure") {
    return { set: null, problems: toProblems(path, text, parts.errors) };
  }
  if (parts.policy_templates.length > 0) {
    return {
      set: null,
      problems: [{ path, line: 1, column: 1, message: "cedar: templates are not supported" }],
    };
  }
  // Offsets of each policy in the original text, for positions and default ids.
  const problems: Problem[] = [];
  const policies: Record<string, string> = {};
  const ids: string[] = [];
  const offsets = new Map<string, number>();
  const forbidIds = new Set<string>();
  const reasons = new Map<string, string>();
  const actionsOf = new Map<string, string[] | null>();
  const resourceOf = new Map<string, string>();
  const vocabulary = Object.keys(kinds);
  let cursor = 0;
  for (const [i, p] of parts.policies.entries()) {
    const json = engine.policyToJson(p);
    if (json.type === "failure") {
      problems.push(...toProblems(path, text, json.errors));
      continue;
    }
    const at = Math.max(0, text.indexOf(p.trim().slice(0, 40), cursor));
    cursor = at + 1;
    const id = json.json.annotations?.id ?? `${path}#${i}`;
    if (offsets.has(id)) {
      problems.push({
        path,
        ...position(text, at),
        message: `cedar: duplicate policy id "${id}"`,
      });
      continue;
    }
    offsets.set(id, at);
    ids.push(id);
    policies[id] = p;
    if (json.json.effect === "forbid") forbidIds.add(id);
    const reason = json.json.annotations?.reason;
    if (reason) reasons.set(id, reason);
    const res = json.json.resource;
    if (res.op === "==" && "entity" in res) resourceOf.set(id, uidId(res.entity));
    const a = json.json.action;
    actionsOf.set(
      id,
      a.op === "All"
        ? null
        : a.op === "==" && "entity" in a
        ? [uidId(a.entity)]
        : "entities" in a
        ? a.entities.map(uidId)
        : "entity" in a
        ? [uidId(a.entity)]
        : null,
    );
  }
  if (problems.length > 0) return { set: null, problems };

  const validation = engine.validate({
    schema: cedarSchema(vocabulary),
    policies: { staticPolicies: policies } as unknown as cedar.PolicySet,
    validationSettings: { mode: "strict" },
  });
  if (validation.type === "failure") {
    return { set: null, problems: toProblems(path, text, validation.errors) };
  }
  for (const v of validation.validationErrors) {
    const base = offsets.get(v.policyId) ?? 0;
    const rel = v.error.sourceLocations?.[0]?.start;
    problems.push({
      path,
      ...position(text, rel === undefined ? base : base + rel),
      message: `cedar: policy "${v.policyId}": ${v.error.message}`,
    });
  }
  if (problems.length > 0) return { set: null, problems };

  // Slices: per action, and per (action, resource) for policies pinned with `resource ==`, so a
  // request evaluates only the policies that can apply to it.
  const slices = new Map<string, { id: string; forbids: ReadonlySet<string> }>();
  const setNo = nextSet++;
  for (const action of vocabulary) {
    const forAction = ids.filter((id) => {
      const acts = actionsOf.get(id);
      return acts === null || acts === undefined || acts.includes(action);
    });
    if (forAction.length === 0) continue;
    const generic = forAction.filter((id) => !resourceOf.has(id));
    const pinned = new Map<string, string[]>();
    for (const id of forAction) {
      const r = resourceOf.get(id);
      if (r !== undefined) pinned.set(r, [...(pinned.get(r) ?? []), id]);
    }
    const groups: [string, string[]][] = [[action, generic]];
    for (const [r, list] of pinned) groups.push([`${action}\0${r}`, [...generic, ...list]]);
    for (const [key, chosen] of groups) {
      if (chosen.length === 0) continue;
      const sliceId = `warden-${setNo}-${slices.size}`;
      const slice: Record<string, string> = {};
      for (const id of chosen) slice[id] = policies[id];
      const r = engine.preparsePolicySet(sliceId, { staticPolicies: slice } as cedar.PolicySet);
      if (r.type === "failure") return { set: null, problems: toProblems(path, text, r.errors) };
      slices.set(key, { id: sliceId, forbids: new Set(chosen.filter((id) => forbidIds.has(id))) });
    }
  }
  return { set: new CedarSet(path, ids, slices, engine, reasons), problems: [] };
}

function uidId(e: cedar.EntityUidJson): string {
  return "__entity" in e ? e.__entity.id : e.id;
}
