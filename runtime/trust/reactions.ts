/**
 * Trust reactions: audited facts and decisions about a running agent become trust events, and a
 * score change is followed — below the revocation threshold the agent is killed, else its ring
 * moves as its tier says, through the host's one `setRing` (cause "trust").
 */
import type { AuditEntry } from "../../governance/audit/mod.ts";
import type { CompiledPolicy } from "../../governance/mod.ts";
import type { Ring } from "../../governance/rings/mod.ts";
import {
  REVOKE_BELOW,
  ringAtStart,
  ringFor,
  tierOf,
  type TrustEvent,
} from "../../governance/trust/mod.ts";
import { type AgentRef, answeredCompatibly, type Ask, type Ruling } from "../governor.ts";
import type { TrustService } from "./service.ts";

/** A running agent as trust sees it, read when an event arrives. */
export interface TrustedAgent {
  /** Its identity record: `ring` is live, and the new score is written to `trust`. */
  ref: AgentRef;
  /** The ring the operator assigned (trust never promotes above it, nor into 0/1). */
  assigned: number;
  /** Being killed (or killed to be restarted). */
  stopping: boolean;
  /** Killed to be restarted at another ring. */
  restarting: boolean;
  /** Trains in a governed RL environment. */
  inEnvironment: boolean;
}

/** What trust reactions need of the host. */
export interface TrustHost {
  agent(id: string): TrustedAgent | undefined;
  /** The host is shutting down. */
  closed(): boolean;
  /** The live policy (rule severities). */
  policy(): CompiledPolicy;
  kill(id: string, reason: string): Promise<unknown>;
  setRing(id: string, ring: Ring, cause: "trust", detail: string): Promise<unknown>;
}

/** The ring an agent starts at under its score, and the audit note when the score capped it. */
export function trustCap(asked: number, score: number): { ring: number; note: string } {
  const ring = ringAtStart(asked, score);
  return {
    ring,
    note: ring === asked
      ? ""
      : `; asked ring ${asked}, trust ${Math.round(score)} (${tierOf(score)}) caps it at ${ring}`,
  };
}

/** Moves running agents' trust scores and follows the changes (one per host). */
export class TrustReactions {
  constructor(readonly trust: TrustService, readonly host: TrustHost) {}

  /** Turn an audited fact into a trust event; demote, restart or revoke as the score says. */
  audited(e: AuditEntry): void {
    const a = this.host.agent(e.agent.id);
    if (!a) return;
    let event: TrustEvent | null = null;
    const at = Date.parse(e.ts);
    // A kill counts against the agent, unless the host killed it to restart it at another ring
    // or because the host itself is shutting down.
    if (e.path === "host" && e.action === "agent.kill" && !a.restarting && !this.host.closed()) {
      event = { type: "killed", at };
    } else if (
      e.path === "host" && e.action === "saga.end" &&
      (e.saga as { event?: string } | undefined)?.event === "completed"
    ) {
      event = { type: "saga_completed", at };
    }
    if (event) this.#record(a, event);
  }

  /**
   * Turn a decision (ring ceiling, then policy) on the agent's broker or SDK path into a trust
   * event. MCP-path decisions are the client's calls of a governed server's tools, not the
   * server's own choices: they do not move the server's trust (its broker checks do).
   * Operational refusals (rate limits, open circuits) are records, not decisions: no event.
   * Nor are the steps of the agent's governed RL environment (`rl.step`): a denied step never
   * happens, and the environment's reward guards judge it.
   */
  decided(id: string, ask: Ask, d: Ruling): void {
    const a = this.host.agent(id);
    if (!a || (ask.path !== "broker" && ask.path !== "sdk")) return;
    if (a.inEnvironment && ask.context?.episode !== undefined) return;
    const at = Date.now();
    let event: TrustEvent;
    if (d.effect === "allow") event = { type: "allowed", at };
    else if (d.effect === "deny") {
      const severity = d.rule
        ? this.host.policy().rules.find((x) => x.id === d.rule)?.severity
        : undefined;
      // A probe seen by the agent as an unset variable, or a refused file read answered like
      // the OS (existsSync false, EACCES): not a violation.
      if (answeredCompatibly(ask, severity)) return;
      event = severity ? { type: "violation", severity, at } : { type: "denied", at };
    } else return;
    this.#record(a, event);
  }

  /** An SLO whose scope holds the agent breached (sre/reactions.ts). */
  sloBreached(id: string, at: number): void {
    const a = this.host.agent(id);
    if (a) this.#record(a, { type: "slo_breach", at });
  }

  /** Record the event, then follow the change: revoke below the threshold, or move the ring. */
  #record(a: TrustedAgent, event: TrustEvent): void {
    const { before, after } = this.trust.record(a.ref.id, event, true);
    this.#follow(a, before, after);
  }

  /**
   * A score changed elsewhere (fleet mode: another host's events, read from the database):
   * follow it for the running agent `id` as for a local event.
   */
  changed(id: string, before: number, after: number): void {
    const a = this.host.agent(id);
    if (a) this.#follow(a, before, after);
  }

  #follow(a: TrustedAgent, before: number, after: number): void {
    const ref = a.ref;
    ref.trust = after;
    if (a.stopping) return;
    if (after < REVOKE_BELOW) {
      this.host.kill(ref.id, `trust revoked: score ${Math.round(after)} < ${REVOKE_BELOW}`);
      return;
    }
    const ring = ringFor(ref.ring, a.assigned, before, after);
    if (ring === ref.ring) return;
    this.host.setRing(
      ref.id,
      ring as Ring,
      "trust",
      `trust ${Math.round(before)} -> ${Math.round(after)}`,
    ).catch(() => {/* reported by the host's restart */});
  }
}
