/**
 * The governor: every decision on both paths goes through here. Ring ceiling first, then the
 * policy, then the audit log. Anything that fails while deciding is a deny (fail closed).
 */
import type { CompiledPolicy, Decision, ResourceShape } from "../governance/mod.ts";
import { payloadHash } from "../governance/identity/mod.ts";
import type { RingCeilings } from "../governance/rings/mod.ts";
import type { AuditLog } from "./audit/log.ts";
import { isOwnCode } from "./supervisor/graph.ts";

/** Actions whose arguments are digested into their audit entries. */
const DIGESTED = new Set(["tool.call", "mcp.prompt.get"]);

/** The agent as the governor sees it. */
export interface AgentRef {
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
  /** Declared capabilities (plugins): a second ceiling under the ring's. */
  caps?: RingCeilings;
}

/** The host itself as the subject of host-level decisions and audit entries. */
export const HOST_AGENT: Readonly<AgentRef> = Object.freeze({
  id: "host",
  name: "host",
  ring: 0,
  trust: 1000,
  labels: {},
  workspace: "/",
  code: "/",
  sdk: "/",
});

/** A request for the governor. */
export interface Ask {
  action: string;
  resource: string;
  args?: Record<string, unknown>;
  context?: Record<string, unknown>;
  /** Decision path for the audit log. */
  path: "broker" | "sdk" | "host" | "mcp";
}

/** A decision together with the audit sequence number that records it. */
export interface Ruling extends Decision {
  seq: number;
}

/** Chooses the policy per agent and observes decisions (see runtime/policy/delivery.ts). */
export interface PolicyRouter {
  /** The policy that decides for `agent` (null: the live one). */
  policyFor(agent: AgentRef): CompiledPolicy | null;
  /** Every policy decision, after it is made (`canary`: made by the candidate). */
  observe(agent: AgentRef, request: Record<string, unknown>, d: Decision, canary: boolean): void;
}

/** Called after each deny (the host uses it for kill-on-denials). */
export type DenyListener = (agent: AgentRef, ruling: Ruling, ask: Ask) => void;

export class Governor {
  #policy: CompiledPolicy;
  readonly rings: RingCeilings;
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
  request(agent: AgentRef, ask: Ask): Record<string, unknown> {
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
      context: {
        ...ask.context,
        workspace: agent.workspace,
        code: agent.code,
        sdk: agent.sdk,
        ownCode: isOwnCode(agent.codeFiles, ask.resource),
        path: ask.path,
      },
    };
  }

  /**
   * Decide, audit and return. Never throws: an internal error is an audited deny. Tool calls
   * and prompts are audited with `argsSha256`, the SHA-256 of their canonical arguments: the
   * log proves which arguments were decided without holding their (often sensitive) values.
   */
  decide(agent: AgentRef, ask: Ask, extra: Record<string, unknown> = {}): Ruling {
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
  couldAllow(agent: AgentRef, ask: Ask, shape?: ResourceShape): boolean {
    try {
      const req = this.request(agent, ask);
      if (this.rings.check(req) ?? agent.caps?.check(req)) return false;
      const policy = this.#router?.policyFor(agent) ?? this.#policy;
      return policy.couldAllow(req, undefined, shape);
    } catch {
      return false;
    }
  }

  /** Audit a decision made elsewhere (validation failures, kills, host events). */
  record(agent: AgentRef, ask: Ask, d: Decision, extra: Record<string, unknown> = {}): Ruling {
    const entry = this.audit.append({
      ts: new Date().toISOString(),
      path: ask.path,
      agent: { id: agent.id, name: agent.name, ring: agent.ring },
      action: ask.action,
      resource: ask.resource.length > 2048 ? ask.resource.slice(0, 2048) + "…" : ask.resource,
      effect: d.effect,
      rule: d.rule,
      reason: d.reason,
      ...extra,
    });
    const ruling = { effect: d.effect, rule: d.rule, reason: d.reason, seq: entry.seq };
    if (d.effect === "deny" && this.#onDeny && ask.path !== "host") {
      this.#onDeny(agent, ruling, ask);
    }
    return ruling;
  }
}
