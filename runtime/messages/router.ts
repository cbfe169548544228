/**
 * Agent-to-agent messages. The sending host signs an envelope with the sender's key (agents
 * never hold keys) and delivers it to a local mailbox or to a peer host over HTTP; the
 * receiving host verifies it (recipient, freshness, payload, signature, replay, sequence)
 * and audits every acceptance and every rejection.
 */
import {
  type Envelope,
  type RandomFill,
  ReplayGuard,
  sealEnvelope,
  type Signer,
} from "../../governance/identity/mod.ts";
import { type AgentRef, type Governor, HOST_AGENT } from "../governor.ts";

/** A message as the recipient sees it. */
export interface Delivered {
  from: string;
  payload: unknown;
  ts: number;
  seq: number;
}

/** Largest payload (canonical JSON characters). */
export const MAX_PAYLOAD = 256 * 1024;
const MAX_QUEUE = 1000;

class Mailbox {
  #queue: Delivered[] = [];
  #waiters: ((m: Delivered | null) => void)[] = [];

  push(m: Delivered): boolean {
    const w = this.#waiters.shift();
    if (w) {
      w(m);
      return true;
    }
    if (this.#queue.length >= MAX_QUEUE) return false;
    this.#queue.push(m);
    return true;
  }

  receive(timeoutMs: number, signal: AbortSignal): Promise<Delivered | null> {
    const m = this.#queue.shift();
    if (m || timeoutMs <= 0) return Promise.resolve(m ?? null);
    return new Promise((resolve) => {
      const done = (v: Delivered | null) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        const i = this.#waiters.indexOf(done);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve(v);
      };
      const onAbort = () => done(null);
      const timer = setTimeout(() => done(null), timeoutMs);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(done);
    });
  }
}

export class MessageRouter {
  readonly guard: ReplayGuard;
  #local = new Map<string, { ref: AgentRef; box: Mailbox }>();
  #seq = new Map<string, number>();
  #peers: string[];
  #now: () => number;
  #random: RandomFill;

  constructor(
    readonly governor: Governor,
    o: { peers?: string[]; guard?: ReplayGuard; now?: () => number; random?: RandomFill } = {},
  ) {
    this.guard = o.guard ?? new ReplayGuard();
    this.#peers = o.peers ?? [];
    this.#now = o.now ?? Date.now;
    this.#random = o.random ?? ((b) => crypto.getRandomValues(b));
  }

  /** Add a peer host (base URL of its peer endpoint). */
  addPeer(url: string): void {
    if (!this.#peers.includes(url)) this.#peers.push(url);
  }

  register(ref: AgentRef): void {
    this.#local.set(ref.id, { ref, box: new Mailbox() });
  }

  unregister(did: string): void {
    this.#local.delete(did);
  }

  /** Seal and send `payload` from `signer` to `to` (local agent or a peer host's agent). */
  async send(signer: Signer, to: string, payload: unknown): Promise<void> {
    const key = `${signer.did}|${to}`;
    const seq = (this.#seq.get(key) ?? 0) + 1;
    this.#seq.set(key, seq);
    const envelope = await sealEnvelope(signer, to, payload, seq, this.#now(), this.#random);
    if (this.#local.has(to)) {
      const r = await this.deliver(envelope, payload);
      if (!r.ok) throw new Error(`message refused by the recipient's host: ${r.reason}`);
      return;
    }
    const reasons: string[] = [];
    for (const peer of this.#peers) {
      let res: Response;
      try {
        res = await fetch(new URL("/warden/v1/messages", peer), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ envelope, payload }),
          signal: AbortSignal.timeout(10_000),
        });
      } catch (e) {
        reasons.push(`${peer}: ${(e as Error).message}`);
        continue;
      }
      const body = await res.json().catch(() => ({}));
      if (res.status === 202) return;
      if (res.status !== 404) {
        throw new Error(`message refused by ${peer}: ${body.error ?? res.status}`);
      }
      reasons.push(`${peer}: unknown recipient`);
    }
    throw new Error(`unknown recipient ${to}${reasons.length ? ` (${reasons.join("; ")})` : ""}`);
  }

  /** Verify and deliver an incoming envelope to a local agent; every outcome is audited. */
  async deliver(
    envelope: unknown,
    payload: unknown,
  ): Promise<{ ok: true } | { ok: false; status: number; reason: string }> {
    const to = (envelope as Envelope | null)?.to;
    const target = typeof to === "string" ? this.#local.get(to) : undefined;
    const from = String((envelope as Envelope | null)?.from ?? "?");
    if (!target) {
      this.governor.record(
        HOST_AGENT,
        { path: "host", action: "message.receive", resource: from },
        {
          effect: "deny",
          rule: null,
          reason: `message refused: unknown recipient ${String(to)}`,
        },
      );
      return { ok: false, status: 404, reason: "unknown recipient" };
    }
    const verdict = await this.guard.accept(envelope, payload, target.ref.id, this.#now());
    if (typeof verdict === "string") {
      this.governor.record(
        target.ref,
        { path: "host", action: "message.receive", resource: from },
        {
          effect: "deny",
          rule: null,
          reason: `message refused: ${verdict}`,
        },
      );
      return { ok: false, status: 403, reason: verdict };
    }
    const accepted = target.box.push({
      from: verdict.from,
      payload,
      ts: verdict.ts,
      seq: verdict.seq,
    });
    this.governor.record(target.ref, { path: "host", action: "message.receive", resource: from }, {
      effect: accepted ? "allow" : "deny",
      rule: null,
      reason: accepted ? `message ${verdict.seq} accepted` : "message refused: mailbox full",
    });
    return accepted ? { ok: true } : { ok: false, status: 429, reason: "mailbox full" };
  }

  /** Wait (up to `timeoutMs`) for the next message to a local agent. */
  receive(did: string, timeoutMs: number, signal: AbortSignal): Promise<Delivered | null> {
    const t = this.#local.get(did);
    if (!t) return Promise.resolve(null);
    return t.box.receive(timeoutMs, signal);
  }
}
