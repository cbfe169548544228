/**
 * Human approval: a `require_approval` decision parks the operation here until an operator
 * approves or denies it (API, console or CLI), or it times out — to deny. The approver sees
 * the whole canonical ActionRequest (arguments included), with the fields the deciding rule
 * marks `redact:` replaced by "[redacted]"; each decision is bound to the sha-256 of exactly
 * that canonical text, and must carry it.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../../governance/audit/mod.ts";
import type { ApprovalHandler, Governor, Ruling, Subject } from "../governor.ts";

/** A parked operation. */
export interface Pending {
  id: string;
  /** sha-256 of `canonical`: what an approval is bound to. */
  hash: string;
  /** The ActionRequest as shown to the approver (redacted fields replaced). */
  request: Record<string, unknown>;
  /** The request's arguments as shown (redacted fields replaced). */
  args: Record<string, unknown>;
  /** The canonical JSON of `request`: the exact text `hash` is computed over. */
  canonical: string;
  /** The deciding rule's `redact:` paths that hid a field (empty: nothing hidden). */
  redacted: string[];
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

/** What replaces a redacted field. */
export const REDACTED = "[redacted]";

/**
 * A deep copy of `request` with each `args.…` path replaced by "[redacted]" (`*` matches
 * every key at its level), and the paths that hid something. Values are copied through JSON,
 * as the canonical form sees them.
 */
export function redactRequest(
  request: Record<string, unknown>,
  paths: readonly string[],
): { shown: Record<string, unknown>; redacted: string[] } {
  const shown = JSON.parse(canonicalJson(request)) as Record<string, unknown>;
  const walk = (node: unknown, segs: string[]): boolean => {
    if (node === null || typeof node !== "object" || segs.length === 0) return false;
    const o = node as Record<string, unknown>;
    const [head, ...rest] = segs;
    let hit = false;
    for (const k of head === "*" ? Object.keys(o) : [head]) {
      if (!Object.hasOwn(o, k)) continue;
      if (rest.length === 0) {
        o[k] = REDACTED;
        hit = true;
      } else hit = walk(o[k], rest) || hit;
    }
    return hit;
  };
  return { shown, redacted: paths.filter((p) => walk(shown, p.split("."))) };
}

/** How a decision went: done, no such approval, bound to a different request, or decided. */
export type DecideResult = "ok" | "unknown" | "mismatch" | "decided";

/**
 * Where a fleet keeps parked approvals (runtime/fleet/approvals.ts). The queue keeps its
 * waiters; the store decides exactly once (compare-and-set) for every host.
 */
export interface ApprovalStore {
  /** Record a parked item; a rejection (its one-line message) denies the item at once. */
  park(item: Pending): Promise<void>;
  /** Decide an item parked on any host (compare-and-set on state, hash and expiry). */
  decide(id: string, outcome: "approved" | "denied", approver: string, hash: string): Promise<
    DecideResult
  >;
  /** Expire an item at its timeout; the decision that won instead, if one did. */
  expire(id: string): Promise<{ outcome: "approved" | "denied"; approver: string } | undefined>;
  /** Every pending item of the fleet. */
  list(): Promise<Pending[]>;
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
  #store: ApprovalStore | undefined;

  constructor(readonly governor: Governor, readonly timeoutMs = 5 * 60_000) {}

  /** Keep parked items in `store` (fleet mode) from now on. */
  setStore(store: ApprovalStore | undefined): void {
    this.#store = store;
  }

  /** The handler the gateway calls for `require_approval` decisions. */
  readonly handler: ApprovalHandler = (agent, request, ruling) => this.park(agent, request, ruling);

  park(
    agent: Subject,
    request: Record<string, unknown>,
    ruling: Ruling,
  ): Promise<"approved" | "denied"> {
    const now = Date.now();
    // The deciding rule's `redact:`. A rule the live policy does not hold (a canary's, a
    // policy reloaded since) cannot say which fields are secret: hide every argument.
    const rule = ruling.rule === null
      ? null
      : this.governor.policy.rules.find((r) => r.id === ruling.rule);
    const { shown, redacted } = redactRequest(
      request,
      rule === undefined ? ["args.*"] : rule?.redact ?? [],
    );
    const canonical = canonicalJson(shown);
    const item: Pending = {
      id: crypto.randomUUID(),
      hash: createHash("sha256").update(canonical).digest("hex"),
      request: shown,
      args: (shown.args ?? {}) as Record<string, unknown>,
      canonical,
      redacted,
      agent: { id: agent.id, name: agent.name, ring: agent.ring },
      action: String(request.action),
      resource: String(request.resource),
      rule: ruling.rule,
      reason: ruling.reason,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.timeoutMs).toISOString(),
    };
    const store = this.#store;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#timedOut(item.id, store), this.timeoutMs);
      this.#pending.set(item.id, { item, resolve, timer });
      this.#notify(item, "parked");
      store?.park(item).catch((e) =>
        this.#resolve(item.id, "denied", "fleet", (e as Error).message.split("\n")[0])
      );
    });
  }

  /** The timeout: deny, unless (fleet) a decision won the race on the store. */
  async #timedOut(id: string, store: ApprovalStore | undefined): Promise<void> {
    const won = await store?.expire(id).catch(() => undefined);
    if (won) this.settle(id, won.outcome, won.approver);
    else this.#resolve(id, "denied", "timeout", "approval timed out");
  }

  /** Resolve a local waiter with a decision the store made (fleet mode). */
  settle(id: string, outcome: "approved" | "denied", approver: string): void {
    this.#resolve(id, outcome, approver, `${outcome} by ${approver}`);
  }

  /** The pending items of the fleet (fleet mode), else of this host. */
  async listAll(): Promise<Pending[]> {
    return this.#store ? await this.#store.list() : this.list();
  }

  /**
   * {@link decide} for an item parked on any host of the fleet (fleet mode: compare-and-set in
   * the store, so two approvers decide once); without a store, the same as `decide`.
   */
  async decideAny(
    id: string,
    outcome: "approved" | "denied",
    approver: string,
    hash: string,
  ): Promise<DecideResult> {
    if (!this.#store) return this.decide(id, outcome, approver, hash);
    const r = await this.#store.decide(id, outcome, approver, hash);
    if (r === "ok") this.settle(id, outcome, approver);
    return r;
  }

  list(): Pending[] {
    return [...this.#pending.values()].map((p) => p.item);
  }

  /**
   * Approve or deny a parked operation. `hash` must be the one shown with it: a decision made
   * for one exact request cannot settle another.
   */
  decide(id: string, outcome: "approved" | "denied", approver: string, hash: string): DecideResult {
    const p = this.#pending.get(id);
    if (!p) return "unknown";
    if (hash !== p.item.hash) return "mismatch";
    this.#resolve(id, outcome, approver, `${outcome} by ${approver}`);
    return "ok";
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
