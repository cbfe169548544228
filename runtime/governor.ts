/**
 * The governor: every decision on every path (broker, SDK, MCP, messages, sagas, plugins) goes
 * through `authorize` (or its synchronous form `decide`): ring and capability ceilings first,
 * then the policy, then approvals, then the audit log. It is the only place that commits audit
 * entries: each is on disk before the caller answers. Anything that fails while deciding is a
 * deny (fail closed).
 */
import type { CompiledPolicy, Decision, ResourceShape } from "../governance/mod.ts";
import { payloadHash } from "../governance/identity/mod.ts";
import type { RingCeilings } from "../governance/rings/mod.ts";
import type { Refusal } from "../sdk/wire_schema.ts";
import type { AuditLog } from "./audit/log.ts";
import { isOwnCode } from "./supervisor/graph.ts";
import { auditedUrl } from "./outputs/audited_url.ts";

/** Actions whose arguments are digested into their audit entries. */
const DIGESTED = new Set([
  "tool.call",
  "mcp.prompt.get",
  "mcp.sampling",
  "mcp.elicitation",
  "mcp.roots",
]);

/** What every subject carries: identity, ring, trust and the roots its requests are read in. */
interface SubjectBase {
  id: string;
  name: string;
  ring: number;
  trust: number;
  labels: Record<string, string>;
  /** Roots used by ring ceilings and `${workspace}`. */
  workspace: string;
  /** The entry module's directory: reads there are `import`s (see runtime/broker/map.ts). */
  code: string;
  sdk: string;
  /** Own code: the real paths of the modules of the agent's graph (runtime/supervisor/graph.ts). */
  codeFiles?: ReadonlySet<string>;
  /** SHA-256 digest of the own-code modules (definition in runtime/supervisor/graph.ts). */
  codeDigest?: string;
  /**
   * The package-store directory of an agent installed from npm (runtime/supervisor/store.ts):
   * `context.store` in requests (the built-in rule `warden-package-store` reads it).
   */
  store?: string;
  /**
   * The hostname the agent sees in a UTS namespace of its own (runtime/supervisor/spawn.ts),
   * when the host gave it one: `context.syntheticHostname` is then true.
   */
  syntheticHostname?: string;
  /** Declared capabilities (plugins): a second ceiling under the ring's. */
  caps?: RingCeilings;
}

/** The agent as the governor sees it (the agent form of a Subject). */
export interface AgentRef extends SubjectBase {
  kind?: "agent";
}

/** The host itself: host-level decisions (plugin loading) and records (agent.start, sre.*). */
export interface HostRef extends SubjectBase {
  kind: "host";
}

/** An operator of the control plane (runtime/server/api.ts): the token's name and role. */
export interface OperatorRef extends SubjectBase {
  kind: "operator";
  role: string;
}

/** Who a decision or an audit entry is about: an agent, the host, or an operator. */
export type Subject = AgentRef | HostRef | OperatorRef;

/** The host itself as the subject of host-level decisions and audit entries. */
export const HOST_AGENT: Readonly<HostRef> = Object.freeze({
  kind: "host",
  id: "host",
  name: "host",
  ring: 0,
  trust: 1000,
  labels: {},
  workspace: "/",
  code: "/",
  sdk: "/",
});

/** An operator as a subject (no sandbox: roots are "/"; ring 0, like the host). */
export function operatorSubject(name: string, role: string): OperatorRef {
  return { ...HOST_AGENT, kind: "operator", role, id: "operator", name, labels: {} };
}

/** A request for the governor. */
export interface Ask {
  action: string;
  resource: string;
  args?: Record<string, unknown>;
  context?: Record<string, unknown>;
  /** Decision path for the audit log. */
  path: "broker" | "sdk" | "host" | "mcp" | "egress";
}

/** A decision together with the audit sequence number that records it. */
export interface Ruling extends Decision {
  seq: number;
}

/** Carries a `require_approval` ruling to a human (runtime/approvals/queue.ts). */
export type ApprovalHandler = (
  subject: Subject,
  request: Record<string, unknown>,
  ruling: Ruling,
) => Promise<"approved" | "denied" | "pending">;

/**
 * Why an authorized request may not go ahead. `denied`: by a ceiling, the policy or an
 * approver (`approval: "denied"`); `approval_required`: nobody approved it (no queue, or it is
 * still pending); `failed`: the approval path threw (`reason` is its error). Otherwise `reason`
 * is the decision's own reason, never composed prose.
 */
export interface Refused {
  code: "denied" | "approval_required" | "failed";
  rule: string | null;
  reason: string;
  /** The deciding rule's own reason (the Decision's `ruleReason`), or null. */
  ruleReason: string | null;
  /** Set when the ruling was `require_approval`: how the approval came out. */
  approval?: "denied" | "pending" | "failed";
}

/** What `authorize` returns: the audited ruling, and why not when it may not go ahead. */
export interface Authorization {
  ruling: Ruling;
  /** Null: go ahead (allowed, or approved). */
  refused: Refused | null;
}

/** Options of `Governor.authorize`. */
export interface AuthorizeOptions {
  /** Where `require_approval` goes; without one it is refused `approval_required`. */
  approvals?: ApprovalHandler;
  /** Extra audit fields for the decision's entry. */
  extra?: Record<string, unknown>;
}

/** A refusal in the one shape the wire, the SDK and the MCP gateway share. */
export function toRefusal(r: Refused): Refusal {
  return { code: r.code, message: refusalMessage(r), rule: r.rule, ruleReason: r.ruleReason };
}

/** The one-line text of a refusal, as the SDK and MCP gateways show it. */
export function refusalMessage(r: Refused): string {
  if (r.approval === "pending") return `approval required (not performed): ${r.reason}`;
  if (r.approval === "denied") return `approval denied: ${r.reason}`;
  if (r.approval === "failed") return `approval failed: ${r.reason}`;
  return r.reason;
}

/** Chooses the policy per agent and observes decisions (see runtime/policy/delivery.ts). */
export interface PolicyRouter {
  /** The policy that decides for `agent` (null: the live one). */
  policyFor(agent: Subject): CompiledPolicy | null;
  /** Every policy decision, after it is made (`canary`: made by the candidate). */
  observe(agent: Subject, request: Record<string, unknown>, d: Decision, canary: boolean): void;
}

/** Called after each deny (the host uses it for kill-on-denials). */
export type DenyListener = (agent: Subject, ruling: Ruling, ask: Ask) => void;

/** Rule id -> severity, per compiled policy (built on first use). */
const SEVERITIES = new WeakMap<CompiledPolicy, Map<string, string>>();

/**
 * A refusal a program sees as an unset variable: an `env.get` of a variable that is not in the
 * agent's environment at all, denied by no rule with a severity. Still decided and audited (as
 * a deny), but not a violation: no trust event, not counted toward the denial flood budget.
 * A deny rule with a severity opts back in: the read throws and counts. An enumeration of the
 * environment (`Object.keys(process.env)`, `env.get *`) denied so is answered with what it
 * would reveal when each variable the operator set is itself allowed (see the broker).
 */
export function answeredAsUnset(ask: Ask, severity: string | undefined): boolean {
  return ask.action === "env.get" && severity === undefined &&
    (ask.args?.unset === true || ask.args?.enumeration === true);
}

/**
 * A refusal a program sees as what the OS would answer (compatible refusals, issue 19): a probe
 * answered as unset (`answeredAsUnset`), or a refused `fs.read` of an agent whose `node:fs`
 * answers refusals like the OS (`args.compatible`, set by the broker: `existsSync` false, an
 * EACCES error), denied by no rule with a severity. The broker refuses before anything is
 * opened, so the answer is the same whether the path exists or not. Still decided and audited
 * as a deny, but not a violation: no trust event, not counted toward the denial flood budget.
 * A deny rule with a severity opts back in.
 */
export function answeredCompatibly(ask: Ask, severity: string | undefined): boolean {
  return answeredAsUnset(ask, severity) ||
    (ask.action === "fs.read" && severity === undefined && ask.args?.compatible === true);
}

export class Governor {
  #policy: CompiledPolicy;
  /** The ring ceilings (swapped by `AgentHost.setRings`, fleet bundles). */
  rings: RingCeilings;
  readonly audit: AuditLog;
  #onDeny: DenyListener | null = null;
  #onDecided: DenyListener[] = [];

  constructor(policy: CompiledPolicy, rings: RingCeilings, audit: AuditLog) {
    this.#policy = policy;
    this.rings = rings;
    this.audit = audit;
  }

  /** The live policy. */
  get policy(): CompiledPolicy {
    return this.#policy;
  }

  /** The severity of a rule of the live policy (undefined: it has none, or no such rule). */
  severityOf(rule: string | null): string | undefined {
    if (rule === null) return undefined;
    let m = SEVERITIES.get(this.#policy);
    if (!m) {
      m = new Map();
      for (const r of this.#policy.rules) if (r.severity) m.set(r.id, r.severity);
      SEVERITIES.set(this.#policy, m);
    }
    return m.get(rule);
  }

  /** Swap in a new policy atomically (callers compile it first; a bad one never gets here). */
  setPolicy(p: CompiledPolicy): void {
    this.#policy = p;
  }

  /**
   * Called after each decision made by `decide` (ring ceiling, then policy), never for the
   * records of operational refusals (rate limits, open circuits, invalid arguments) made with
   * `record`: trust moves on what the agent asked for, not on the host's own back-pressure.
   */
  onDecided(fn: DenyListener): void {
    this.#onDecided.push(fn);
  }

  onDeny(fn: DenyListener): void {
    this.#onDeny = fn;
  }

  /** Progressive delivery: which policy decides for an agent, and who watches decisions. */
  #router: PolicyRouter | null = null;

  /** Install (or remove) a policy router (canary selection and shadow evaluation). */
  route(r: PolicyRouter | null): void {
    this.#router = r;
  }

  /** Build the ActionRequest for an agent. */
  request(agent: Subject, ask: Ask): Record<string, unknown> {
    const context: Record<string, unknown> = {
      ...ask.context,
      workspace: agent.workspace,
      code: agent.code,
      sdk: agent.sdk,
      ownCode: isOwnCode(agent.codeFiles, ask.resource),
      path: ask.path,
    };
    // Set only when they apply (no empty objects spread on the decision path).
    if (agent.store) context.store = agent.store;
    if (agent.syntheticHostname) context.syntheticHostname = true;
    return {
      agent: {
        id: agent.id,
        name: agent.name,
        ring: agent.ring,
        trust: agent.trust,
        labels: agent.labels,
      },
      action: ask.action,
      resource: ask.resource,
      args: ask.args ?? {},
      context,
    };
  }

  /**
   * The one authorize step: build the request, apply the ring and capability ceilings, decide,
   * carry a `require_approval` to `options.approvals` (none: refused `approval_required`),
   * and commit the audit entry before returning. The approver's verdict is audited by the
   * queue (through `record`). Never throws: a failure while deciding is an audited deny.
   */
  async authorize(
    subject: Subject,
    ask: Ask,
    options: AuthorizeOptions = {},
  ): Promise<Authorization> {
    const ruling = this.decide(subject, ask, options.extra);
    if (ruling.effect === "allow") return { ruling, refused: null };
    const { rule, reason } = ruling;
    const ruleReason = ruling.ruleReason ?? null;
    if (ruling.effect !== "require_approval") {
      return { ruling, refused: { code: "denied", rule, reason, ruleReason } };
    }
    let outcome: "approved" | "denied" | "pending" = "pending";
    if (options.approvals) {
      try {
        outcome = await options.approvals(subject, this.request(subject, ask), ruling);
      } catch (e) {
        // A failing approval path decides nothing: refused (fail closed).
        const why = e instanceof Error ? e.message : String(e);
        return {
          ruling,
          refused: { code: "failed", rule, reason: why, ruleReason: null, approval: "failed" },
        };
      }
    }
    if (outcome === "approved") return { ruling, refused: null };
    return {
      ruling,
      refused: outcome === "pending"
        ? { code: "approval_required", rule, reason, ruleReason, approval: "pending" }
        : { code: "denied", rule, reason, ruleReason, approval: "denied" },
    };
  }

  /**
   * The synchronous form of `authorize`, for the broker's hot path and other callers that
   * cannot wait: the same ceilings, decision and committed audit entry, but `require_approval`
   * cannot wait for a human, so callers treat anything but `allow` as a deny. Tool calls and
   * prompts are audited with `argsSha256`, the SHA-256 of their canonical arguments: the log
   * proves which arguments were decided without holding their (often sensitive) values.
   */
  decide(agent: Subject, ask: Ask, extra: Record<string, unknown> = {}): Ruling {
    if (DIGESTED.has(ask.action) && ask.args && Object.keys(ask.args).length > 0) {
      extra = { ...extra, argsSha256: payloadHash(ask.args) };
    }
    let d: Decision;
    try {
      const req = this.request(agent, ask);
      const ceiling = this.rings.check(req) ?? agent.caps?.check(req);
      if (ceiling) d = ceiling;
      else {
        const policy = this.#router?.policyFor(agent) ?? this.#policy;
        d = policy.evaluate(req);
        this.#router?.observe(agent, req, d, policy !== this.#policy);
      }
    } catch (e) {
      d = {
        effect: "deny",
        rule: null,
        reason: `internal error while deciding (fail closed): ${
          e instanceof Error ? e.message : e
        }`,
      };
    }
    const ruling = this.record(agent, ask, d, extra);
    for (const fn of this.#onDecided) {
      try {
        fn(agent, ruling, ask);
      } catch { /* an observer must not change a decision */ }
    }
    return ruling;
  }

  /**
   * Could `ask` be allowed for this agent for some values of its arguments? (Ring ceiling,
   * then the policy's static reachability; see CompiledPolicy.couldAllow.) Not audited and
   * not a decision: used to hide what is never allowed, e.g. MCP tools in `tools/list`.
   * `shape` leaves the resource open as well, known by its shape (MCP resource templates).
   */
  couldAllow(agent: Subject, ask: Ask, shape?: ResourceShape): boolean {
    try {
      const req = this.request(agent, ask);
      if (this.rings.check(req) ?? agent.caps?.check(req)) return false;
      const policy = this.#router?.policyFor(agent) ?? this.#policy;
      return policy.couldAllow(req, undefined, shape);
    } catch {
      return false;
    }
  }

  /**
   * Audit a decision made elsewhere (validation failures, refusals of the host's own limits,
   * approvals, host events: agent.start/kill/exit, trust.ring, sre.*, operator actions) and
   * commit it. With `decide` the only writer of audit entries: nothing else commits.
   */
  record(agent: Subject, ask: Ask, d: Decision, extra: Record<string, unknown> = {}): Ruling {
    // A fetched URL is audited with what the output rules find in it redacted (decided as asked).
    const resource = ask.action === "net.fetch"
      ? auditedUrl(this.#policy, ask.resource)
      : ask.resource;
    const entry = this.audit.append({
      ts: isoNow(),
      path: ask.path,
      agent: { id: agent.id, name: agent.name, ring: agent.ring },
      action: ask.action,
      resource: resource.length > 2048 ? resource.slice(0, 2048) + "…" : resource,
      effect: d.effect,
      rule: d.rule,
      reason: d.reason,
      ...extra,
    });
    this.audit.commit(); // on disk before anyone hears of it
    const ruling: Ruling = { ...d, seq: entry.seq };
    if (d.effect === "deny" && this.#onDeny && ask.path !== "host") {
      try {
        this.#onDeny(agent, ruling, ask);
      } catch { /* an observer must not change (or lose) an answer */ }
    }
    return ruling;
  }
}

let lastMs = NaN;
let lastIso = "";
/** The time as an ISO string, formatted once per millisecond (entries come faster than that). */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}
