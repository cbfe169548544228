/**
 * Human approval: a `require_approval` decision parks the operation here until an operator
 * approves or denies it (API, console or CLI), or it times out — to deny. Each approval is
 * bound to the exact action: the sha-256 of the canonical ActionRequest.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../../governance/audit/mod.ts";
import type { ApprovalHandler } from "../gateway/gateway.ts";
import type { AgentRef, Governor, Ruling } from "../governor.ts";

/** A parked operation. */
export interface Pending {
  id: string;
  /** sha-256 of the canonical ActionRequest: what an approval is bound to. */
  hash: string;
  agent: { id: string; name: string; ring: number };
  action: string;
  resource: string;
  rule: string | null;
  reason: string;
  createdAt: string;
  expiresAt: string;
}

/** The hash an approval is bound to. */
export function requestHash(request: Record<string, unknown>): string {
  return createHash("sha256").update(canonicalJson(request)).digest("hex");
}

export class ApprovalQueue {
  #pending = new Map<
    string,
    {
      item: Pending;
      resolve: (o: "approved" | "denied") => void;
      timer: ReturnType<typeof setTimeout>;
    }
  >();
  #listeners = new Set<(p: Pending, event: "parked" | "resolved") => void>();

  constructor(readonly governor: Governor, readonly timeoutMs = 5 * 60_000) {}

  /** The handler the gateway calls for `require_approval` decisions. */
  readonly handler: ApprovalHandler = (agent, request, ruling) => this.park(agent, request, ruling);

  park(
    agent: AgentRef,
    request: Record<string, unknown>,
    ruling: Ruling,
  ): Promise<"approved" | "denied"> {
    const now = Date.now();
    const item: Pending = {
      id: crypto.randomUUID(),
      hash: requestHash(request),
      agent: { id: agent.id, name: agent.name, ring: agent.ring },
      action: String(request.action),
      resource: String(request.resource),
      rule: ruling.rule,
      reason: ruling.reason,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.timeoutMs).toISOString(),
    };
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => this.#resolve(item.id, "denied", "timeout", "approval timed out"),
        this.timeoutMs,
      );
      this.#pending.set(item.id, { item, resolve, timer });
      this.#notify(item, "parked");
    });
  }

  list(): Pending[] {
    return [...this.#pending.values()].map((p) => p.item);
  }

  /**
   * Approve or deny a parked operation. `hash`, when given, must match: an approval given for
   * one exact action cannot release another. Returns false for an unknown id or a mismatch.
   */
  decide(id: string, outcome: "approved" | "denied", approver: string, hash?: string): boolean {
    const p = this.#pending.get(id);
    if (!p || (hash !== undefined && hash !== p.item.hash)) return false;
    this.#resolve(id, outcome, approver, `${outcome} by ${approver}`);
    return true;
  }

  subscribe(fn: (p: Pending, event: "parked" | "resolved") => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #resolve(id: string, outcome: "approved" | "denied", approver: string, reason: string): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    const { item } = p;
    this.governor.record(
      {
        id: item.agent.id,
        name: item.agent.name,
        ring: item.agent.ring,
        trust: 0,
        labels: {},
        workspace: "/",
        code: "/",
        sdk: "/",
      },
      { path: "host", action: "approval", resource: `${item.action} ${item.resource}` },
      {
        effect: outcome === "approved" ? "allow" : "deny",
        rule: item.rule,
        reason: `${reason} (request ${item.hash.slice(0, 16)}…)`,
      },
      { approver, approval: item.id, requestHash: item.hash },
    );
    this.#notify(item, "resolved");
    p.resolve(outcome);
  }

  #notify(p: Pending, e: "parked" | "resolved"): void {
    for (const l of this.#listeners) {
      try {
        l(p, e);
      } catch { /* observers cannot break approvals */ }
    }
  }

  /** Deny everything still waiting (host shutdown). */
  close(): void {
    for (const id of [...this.#pending.keys()]) {
      this.#resolve(id, "denied", "host", "host shutting down");
    }
  }
}
