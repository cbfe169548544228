/**
 * Signed envelopes for agent-to-agent messages. The sending host signs
 * {from, to, payload hash, nonce, timestamp, sequence} with the sender's key; the receiving
 * host checks recipient, freshness, payload integrity, signature, replay and sequence window.
 * Pure: the clock (`now`) and the randomness for nonces (`random`) are passed in.
 */
import { sha256Hex } from "../audit/sha256.ts";
import { z } from "zod";
import { canonicalJson } from "../audit/chain.ts";
import { b64url, type Signer, unb64url, verifyDid } from "./sign.ts";

export const Envelope = z.strictObject({
  v: z.literal(1),
  from: z.string().startsWith("did:key:z"),
  to: z.string().startsWith("did:key:z"),
  payloadHash: z.string().regex(/^[0-9a-f]{64}$/),
  nonce: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  ts: z.number().int().min(0),
  seq: z.number().int().min(1),
  sig: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
});
export type Envelope = z.infer<typeof Envelope>;

/** SHA-256 of the payload's canonical JSON. */
export function payloadHash(payload: unknown): string {
  return sha256Hex(canonicalJson(payload));
}

function signedBytes(e: Omit<Envelope, "sig">): Uint8Array {
  return new TextEncoder().encode(
    `warden-message/v1\n${e.from}\n${e.to}\n${e.payloadHash}\n${e.nonce}\n${e.ts}\n${e.seq}\n`,
  );
}

/** Fills a byte array with random bytes (the runtime passes `crypto.getRandomValues`). */
export type RandomFill = (bytes: Uint8Array) => unknown;

/**
 * Sign an envelope for `payload` from `signer` to `to` at `now`; its 16-byte nonce is filled by
 * `random` (whatever `random` returns is ignored, so it cannot change the nonce's size).
 */
export async function sealEnvelope(
  signer: Signer,
  to: string,
  payload: unknown,
  seq: number,
  now: number,
  random: RandomFill,
): Promise<Envelope> {
  const nonce = new Uint8Array(16);
  random(nonce);
  const body = {
    v: 1 as const,
    from: signer.did,
    to,
    payloadHash: payloadHash(payload),
    nonce: b64url(nonce),
    ts: now,
    seq,
  };
  return { ...body, sig: b64url(await signer.sign(signedBytes(body))) };
}

/** Why a message was refused. */
export type Rejection =
  | "malformed envelope"
  | "wrong recipient"
  | "stale timestamp"
  | "tampered payload"
  | "bad signature"
  | "replayed nonce"
  | "sequence out of window";

export interface GuardOptions {
  /** Accepted clock skew / age, in ms (default 5 minutes). */
  maxAgeMs?: number;
  /** How far ahead of the last accepted sequence a message may be (default 1024). */
  seqWindow?: number;
}

/**
 * The receiving side's memory: nonces seen within the freshness window and the highest
 * sequence accepted per sender. One guard per receiving host.
 */
export class ReplayGuard {
  readonly maxAgeMs: number;
  readonly seqWindow: number;
  #nonces = new Map<string, number>(); // nonce -> expiry
  #lastSeq = new Map<string, number>(); // from|to -> highest accepted seq

  constructor(o: GuardOptions = {}) {
    this.maxAgeMs = o.maxAgeMs ?? 300_000;
    this.seqWindow = o.seqWindow ?? 1024;
  }

  /**
   * Raise the highest accepted sequence of `from` → `to` to at least `seq` (fleet mode: the
   * value another host accepted before the agent moved here). Never lowers it.
   */
  seed(from: string, to: string, seq: number): void {
    const key = `${from}|${to}`;
    if (Number.isSafeInteger(seq) && seq > (this.#lastSeq.get(key) ?? 0)) {
      this.#lastSeq.set(key, seq);
    }
  }

  /** Check an envelope addressed to `me`; on success its nonce and sequence are remembered. */
  async accept(
    raw: unknown,
    payload: unknown,
    me: string,
    now: number,
  ): Promise<Envelope | Rejection> {
    const parsed = Envelope.safeParse(raw);
    if (!parsed.success) return "malformed envelope";
    const e = parsed.data;
    if (e.to !== me) return "wrong recipient";
    if (Math.abs(now - e.ts) > this.maxAgeMs) return "stale timestamp";
    if (payloadHash(payload) !== e.payloadHash) return "tampered payload";
    const { sig, ...body } = e;
    if (!(await verifyDid(e.from, signedBytes(body), unb64url(sig)))) return "bad signature";
    for (const [n, exp] of this.#nonces) {
      if (exp >= now) break;
      this.#nonces.delete(n);
    }
    if (this.#nonces.has(e.nonce)) return "replayed nonce";
    const key = `${e.from}|${e.to}`;
    const last = this.#lastSeq.get(key) ?? 0;
    if (e.seq <= last || e.seq > last + this.seqWindow) return "sequence out of window";
    this.#nonces.set(e.nonce, now + this.maxAgeMs);
    this.#lastSeq.set(key, e.seq);
    return e;
  }
}
