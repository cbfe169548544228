/**
 * A running agent as the host's registry keeps it, and what is read from it: the registry as
 * the trust and SLO reactions see it, the kill switch's denial-flood count, and the wording of
 * an agent's exit.
 */
import type { Signer } from "../../governance/identity/mod.ts";
import type { Budgets } from "../../governance/rings/mod.ts";
import type { BrokerServer } from "../broker/server.ts";
import type { Gateway } from "../gateway/gateway.ts";
import type { SloHost, SloTarget } from "../sre/reactions.ts";
import type { AgentCgroup } from "../supervisor/cgroup.ts";
import type { TrustedAgent, TrustHost, TrustReactions } from "../trust/reactions.ts";
import type { AgentHost } from "../host.ts";
import type { AgentHandle } from "./handle.ts";
import type { AgentSpec, HostEvent } from "./types.ts";

/** One registry entry (`AgentHost`), from spawn until its process has exited. */
export interface Running {
  handle: AgentHandle;
  spec: AgentSpec;
  signer: Signer;
  /** The ring the operator assigned (trust never promotes above it, nor into 0/1). */
  assigned: number;
  broker: Pick<BrokerServer, "close">;
  /** Its SDK gateway (a command agent's: its MCP gateway). */
  gateway: Pick<Gateway, "close" | "setRate">;
  unwatch: () => void;
  timer: ReturnType<typeof setTimeout> | null;
  /** When its counted denials happened (`performance.now()`), oldest first. */
  denials: number[];
  budgets: Budgets;
  cgroup: AgentCgroup | null;
  killedAt: number | null;
  /** Killed to be restarted at another ring (`setRing`): its identity stays claimed. */
  restarting: boolean;
}

/** The registry as trust reactions see it. */
export function trustHost(
  agents: Map<string, Running>,
  host: AgentHost,
  closed: () => boolean,
): TrustHost {
  return {
    agent: (id) => {
      const r = agents.get(id);
      return r && trustView(r);
    },
    closed,
    policy: () => host.governor.policy,
    kill: (id, why) => host.kill(id, why),
    setRing: (id, ring, cause, detail) => host.setRing(id, ring, cause, detail),
  };
}

/** The registry as SLO reactions see it: the live agents, and trust events for them. */
export function sloHost(
  agents: Map<string, Running>,
  host: AgentHost,
  trust: TrustReactions,
  emit: (e: HostEvent) => void,
): SloHost {
  return {
    agents: () => [...agents.values()].filter((r) => r.killedAt === null).map(sloTarget),
    governor: host.governor,
    delivery: host.delivery,
    breached: (id, at) => trust.sloBreached(id, at),
    alert: emit,
    kill: (id, why) => host.kill(id, why),
    setRing: (id, ring, cause, detail) => host.setRing(id, ring, cause, detail),
  };
}

/** The agent as trust reactions see it, now. */
function trustView(r: Running): TrustedAgent {
  return {
    ref: r.handle.ref,
    assigned: r.assigned,
    stopping: r.killedAt !== null,
    restarting: r.restarting,
    inEnvironment: !!r.spec.environment,
  };
}

/** The agent as SLO reactions see it. */
function sloTarget(r: Running): SloTarget {
  return {
    ref: r.handle.ref,
    stopping: () => r.killedAt !== null,
    setRate: (perSecond) => r.gateway.setRate(perSecond),
  };
}

/**
 * Count a denial of `r` on `path`; the kill reason once the flood limit is reached, else null.
 * The host's rule (`killOnDenials`, both paths) when given, else the agent's denial-flood
 * budget, which counts broker denials: the path with no rate limit of its own (the SDK answers
 * "busy").
 */
export function denialFlood(
  r: Running,
  rule: { count: number; windowMs: number } | null | undefined,
  path: string,
  now: number,
): string | null {
  if (!rule && path !== "broker") return null;
  const kod = rule ?? r.budgets.denialFlood;
  r.denials.push(now);
  while (r.denials.length > 0 && r.denials[0] < now - kod.windowMs) r.denials.shift();
  if (r.denials.length < kod.count) return null;
  return rule
    ? `policy: ${kod.count} denials within ${kod.windowMs} ms`
    : `denial flood: ${kod.count} denials within ${kod.windowMs} ms (budget)`;
}

/** How an agent's exit is audited: its kill reason, a V8 heap OOM, or its code and signal. */
export function exitReason(killed: string | null, s: Deno.CommandStatus, code: number): string {
  const oom = s.code === 133 || s.signal === "SIGTRAP";
  return killed
    ? `killed: ${killed}`
    : oom
    ? `exited: V8 heap limit reached (code ${s.code})`
    : `exited with code ${code}${s.signal ? ` (${s.signal})` : ""}`;
}
