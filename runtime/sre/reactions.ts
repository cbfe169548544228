/**
 * SLO reactions: what the host does when an SLO breaches, on the agents in its scope (every
 * live agent for host SLOs) — a trust event for each, the breach audited as the host, an alert,
 * then the SLO's action: throttle their SDK rate, kill them, demote them one ring through the
 * host's one `setRing` (cause "slo"), or freeze policy rollouts.
 */
import type { Ring } from "../../governance/rings/mod.ts";
import type { SloAction, SloStatus } from "../../governance/sre/mod.ts";
import { type AgentRef, type Governor, HOST_AGENT } from "../governor.ts";
import type { PolicyDelivery } from "../policy/delivery.ts";

/** A live agent as SLO reactions see it. */
export interface SloTarget {
  /** Its identity record (`ring` is live). */
  ref: AgentRef;
  /** Being killed (or restarted): read when acting. */
  stopping(): boolean;
  /** Cap its SDK requests per second. */
  setRate(perSecond: number): void;
}

/** What SLO reactions need of the host. */
export interface SloHost {
  /** The live agents (not being killed). */
  agents(): SloTarget[];
  governor: Pick<Governor, "record">;
  delivery: PolicyDelivery;
  /** A trust event for an agent in the breached SLO's scope. */
  breached(id: string, at: number): void;
  alert(e: { type: "alert"; slo: string; action: string; reason: string }): void;
  kill(id: string, reason: string): Promise<unknown>;
  setRing(id: string, ring: Ring, cause: "slo", detail: string): Promise<unknown>;
}

/** Carry out an SLO's action on the agents in its scope (all agents for host SLOs). */
export function reactToSlo(
  host: SloHost,
  slo: SloStatus,
  action: SloAction,
  scope: { agent?: string; tool?: string },
): void {
  const targets = host.agents().filter((t) => !scope.agent || t.ref.name === scope.agent);
  const why = `SLO ${slo.slo} breached (budget ${Math.round(100 * slo.budget.remaining)}% left)`;
  const at = Date.now();
  for (const t of targets) host.breached(t.ref.id, at);
  host.delivery.sloBreached(slo.slo);
  host.governor.record(HOST_AGENT, {
    path: "host",
    action: `sre.${action.type}`,
    resource: slo.slo,
  }, {
    effect: "deny",
    rule: null,
    reason: `${why}: ${action.type}${
      targets.length ? ` (${targets.map((t) => t.ref.name).join(", ")})` : ""
    }`,
  });
  host.alert({ type: "alert", slo: slo.slo, action: action.type, reason: why });
  switch (action.type) {
    case "throttle":
      for (const t of targets) t.setRate(action.rate);
      break;
    case "kill":
      for (const t of targets) host.kill(t.ref.id, why);
      break;
    case "demote":
      for (const t of targets) {
        if (t.stopping() || t.ref.ring >= 3) continue;
        host.setRing(t.ref.id, (t.ref.ring + 1) as Ring, "slo", why)
          .catch(() => {/* reported by the host's restart */});
      }
      break;
    case "freeze_rollouts":
      host.delivery.freeze(why);
      break;
  }
}
