/**
 * Progressive policy delivery: atomic hot reload (a policy that does not compile never
 * replaces the live one), shadow evaluation of a candidate beside the live policy with
 * disagreements counted and sampled, canaries on a stable share of agents, and automatic
 * rollback when the canary's denial rate jumps or an SLO it runs under breaks.
 */
import { createHash } from "node:crypto";
import {
  type CompiledPolicy,
  type Decision,
  formatProblem,
  PolicyError,
} from "../../governance/mod.ts";
import { type AgentRef, type Governor, HOST_AGENT, type PolicyRouter } from "../governor.ts";

/** One decision where the candidate and the live policy differ. */
export interface Disagreement {
  agent: string;
  action: string;
  resource: string;
  live: Decision;
  candidate: Decision;
}

export interface DeliveryOptions {
  /** Roll back a canary whose denial rate exceeds the live rate by this much (absolute). */
  maxDenialRateJump?: number;
  /** Decisions each side needs before rates are compared. */
  minDecisions?: number;
  /** Disagreement examples kept. */
  keepExamples?: number;
}

interface Rates {
  decisions: number;
  denials: number;
}

const rate = (r: Rates) => (r.decisions === 0 ? 0 : r.denials / r.decisions);

/** The share bucket (0..99) of an agent: stable across restarts. */
export function canaryBucket(agentId: string): number {
  return createHash("sha256").update(agentId).digest()[0] % 100;
}

export class PolicyDelivery implements PolicyRouter {
  #candidate: CompiledPolicy | null = null;
  #mode: "none" | "shadow" | "canary" = "none";
  #percent = 0;
  #frozen: string | null = null;
  #live: Rates = { decisions: 0, denials: 0 };
  #canary: Rates = { decisions: 0, denials: 0 };
  #shadow = { evaluated: 0, disagreements: 0, examples: [] as Disagreement[] };
  #history: string[] = [];
  readonly #o: Required<DeliveryOptions>;

  constructor(readonly governor: Governor, o: DeliveryOptions = {}) {
    this.#o = { maxDenialRateJump: 0.2, minDecisions: 50, keepExamples: 20, ...o };
    governor.route(this);
  }

  #event(msg: string, effect: "allow" | "deny" = "allow"): void {
    this.#history.push(`${new Date().toISOString()} ${msg}`);
    this.governor.record(HOST_AGENT, {
      path: "host",
      action: "policy.delivery",
      resource: this.#candidate?.names.join("+") ?? "-",
    }, {
      effect,
      rule: null,
      reason: msg,
    });
  }

  /**
   * Atomic hot reload: compile with `load` and swap it in, or keep the last good policy and
   * return the problems. Any candidate in flight is dropped.
   */
  reload(load: () => CompiledPolicy): { ok: true } | { ok: false; problems: string[] } {
    let next: CompiledPolicy;
    try {
      next = load();
    } catch (e) {
      const problems = e instanceof PolicyError
        ? e.problems.map(formatProblem)
        : [String(e instanceof Error ? e.message : e)];
      this.#event(`reload refused, keeping the last good policy: ${problems[0]}`, "deny");
      return { ok: false, problems };
    }
    this.governor.setPolicy(next);
    this.#clear();
    this.#event(`reloaded: ${next.names.join(" + ")} (${next.rules.length} rules)`);
    return { ok: true };
  }

  /** Evaluate `candidate` beside the live policy on every decision, without enforcing it. */
  shadow(candidate: CompiledPolicy): void {
    this.#assertNotFrozen();
    this.#clear();
    this.#candidate = candidate;
    this.#mode = "shadow";
    this.#event(`shadow started: ${candidate.names.join(" + ")}`);
  }

  /** Let `candidate` decide for `percent`% of agents (stable per agent id). */
  canary(candidate: CompiledPolicy, percent: number): void {
    this.#assertNotFrozen();
    if (!(percent > 0 && percent <= 100)) throw new Error("a canary share is 1..100 percent");
    this.#clear();
    this.#candidate = candidate;
    this.#mode = "canary";
    this.#percent = percent;
    this.#event(`canary started: ${candidate.names.join(" + ")} for ${percent}% of agents`);
  }

  /** Make the candidate live. */
  promote(): void {
    this.#assertNotFrozen();
    if (!this.#candidate) throw new Error("no candidate to promote");
    this.governor.setPolicy(this.#candidate);
    this.#event(`promoted: ${this.#candidate.names.join(" + ")}`);
    this.#clear();
  }

  /** Drop the candidate (manual, or automatic after a breach). */
  rollback(reason: string): void {
    if (!this.#candidate) return;
    this.#event(`rolled back: ${reason}`, "deny");
    this.#clear();
  }

  /** Stop rollouts (an SLO action); `null` unfreezes. An active canary is rolled back. */
  freeze(reason: string | null): void {
    this.#frozen = reason;
    if (reason) {
      if (this.#mode === "canary") this.rollback(`rollouts frozen: ${reason}`);
      this.#event(`rollouts frozen: ${reason}`, "deny");
    }
  }

  /** An SLO broke: a canary is the first suspect. */
  sloBreached(slo: string): void {
    if (this.#mode === "canary") this.rollback(`SLO ${slo} breached during the canary`);
  }

  #assertNotFrozen(): void {
    if (this.#frozen) throw new Error(`policy rollouts are frozen: ${this.#frozen}`);
  }

  #clear(): void {
    this.#candidate = null;
    this.#mode = "none";
    this.#percent = 0;
    this.#live = { decisions: 0, denials: 0 };
    this.#canary = { decisions: 0, denials: 0 };
    this.#shadow = { evaluated: 0, disagreements: 0, examples: [] };
  }

  policyFor(agent: AgentRef): CompiledPolicy | null {
    if (this.#mode !== "canary" || !this.#candidate) return null;
    return canaryBucket(agent.id) < this.#percent ? this.#candidate : null;
  }

  observe(agent: AgentRef, request: Record<string, unknown>, d: Decision, canary: boolean): void {
    if (this.#mode === "shadow" && this.#candidate) {
      const c = this.#candidate.evaluate(request);
      this.#shadow.evaluated++;
      if (c.effect !== d.effect) {
        this.#shadow.disagreements++;
        if (this.#shadow.examples.length < this.#o.keepExamples) {
          this.#shadow.examples.push({
            agent: agent.name,
            action: String(request.action),
            resource: String(request.resource),
            live: d,
            candidate: c,
          });
        }
      }
      return;
    }
    if (this.#mode !== "canary") return;
    const r = canary ? this.#canary : this.#live;
    r.decisions++;
    if (d.effect === "deny") r.denials++;
    const { minDecisions, maxDenialRateJump } = this.#o;
    if (this.#canary.decisions >= minDecisions && this.#live.decisions >= minDecisions) {
      const jump = rate(this.#canary) - rate(this.#live);
      if (jump > maxDenialRateJump) {
        this.rollback(
          `canary denial rate ${(100 * rate(this.#canary)).toFixed(1)}% vs live ${
            (100 * rate(this.#live)).toFixed(1)
          }%`,
        );
      }
    }
  }

  /** What is rolling out, and how it is going. */
  status() {
    return {
      live: this.governor.policy.names,
      mode: this.#mode,
      candidate: this.#candidate?.names ?? null,
      canaryPercent: this.#percent,
      frozen: this.#frozen,
      shadow: { ...this.#shadow, examples: [...this.#shadow.examples] },
      rates: {
        live: { ...this.#live, rate: rate(this.#live) },
        canary: { ...this.#canary, rate: rate(this.#canary) },
      },
      history: [...this.#history],
    };
  }
}
