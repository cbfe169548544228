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

/**
 * Fleet mode (runtime/fleet/directory.ts): where agents of other hosts are, sequence numbers
 * that survive an agent moving hosts, and what the receiver accepted.
 */
export interface MessageDirectory {
  /** The peer endpoint of the host running `did` (undefined: not known to be running). */
  peerOf(did: string): Promise<string | undefined>;
  /** The next sequence number from `from` to `to` (reserved in blocks; throws when it cannot). */
  nextSeq(from: string, to: string): Promise<number>;
  /** An agent registered here: the highest sequence accepted per sender (anywhere). */
  lastIn(to: string): Promise<Map<string, number>>;
  /** An envelope was accepted (written back asynchronously). */
  accepted(from: string, to: string, seq: number): void;
  /** Refuse envelopes sealed this long before the agent registered here (clock skew allowed). */
  readonly skewMs: number;
}

export class MessageRouter {
  readonly guard: ReplayGuard;
  /** Fleet mode: the directory (set by runtime/fleet/directory.ts). */
  directory: MessageDirectory | undefined;
  #since = new Map<string, number>();
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
    const d = this.directory;
    if (!d) return;
    this.#since.set(ref.id, this.#now());
    // What other hosts accepted for this agent, so old envelopes are not accepted again here.
    d.lastIn(ref.id).then((m) => {
      for (const [from, seq] of m) this.guard.seed(from, ref.id, seq);
    }).catch(() => {/* the registration-time floor below still applies */});
  }

  unregister(did: string): void {
    this.#local.delete(did);
    this.#since.delete(did);
  }

  /** Seal and send `payload` from `signer` to `to` (local agent or a peer host's agent). */
  async send(signer: Signer, to: string, payload: unknown): Promise<void> {
    const key = `${signer.did}|${to}`;
    let seq: number;
    if (this.directory) seq = await this.directory.nextSeq(signer.did, to);
    else {
      seq = (this.#seq.get(key) ?? 0) + 1;
      this.#seq.set(key, seq);
    }
    const envelope = await sealEnvelope(signer, to, payload, seq, this.#now(), this.#random);
    if (this.#local.has(to)) {
      const r = await this.deliver(envelope, payload);
      if (!r.ok) throw new Error(`message refused by the recipient's host: ${r.reason}`);
      return;
    }
    const reasons: string[] = [];
    // Fleet mode: the host the directory names first, then the static peers.
    const found = await this.directory?.peerOf(to).catch(() => undefined);
    const peers = found ? [found, ...this.#peers.filter((p) => p !== found)] : this.#peers;
    for (const peer of peers) {
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
    const since = this.#since.get(target.ref.id);
    const sealed = (envelope as Envelope | null)?.ts;
    const verdict = since !== undefined && typeof sealed === "number" &&
        sealed < since - this.directory!.skewMs
      ? "sealed before the recipient registered on this host"
      : await this.guard.accept(envelope, payload, target.ref.id, this.#now());
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
    if (accepted) this.directory?.accepted(verdict.from, target.ref.id, verdict.seq);
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
