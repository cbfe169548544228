/**
 * Who an agent starts as: its Ed25519 identity (its name's key in the keystore, or a fresh
 * in-memory key), claimed for as long as the agent lives. One live agent per identity: a second
 * start under an identity in use is refused, and so is one whose key is still being loaded.
 */
import { type Signer, signerFromKeyPair } from "../../governance/identity/mod.ts";
import type { Keystore } from "./keystore.ts";

const IN_USE = `(one live agent per identity: pick another name)`;

/** The identities (dids) held by live, starting or restarting agents. */
export class IdentityClaims {
  /** Holder names by did. */
  readonly #held = new Map<string, string>();
  /** Keystore key names being loaded. */
  readonly #loading = new Set<string>();

  constructor(readonly keystore?: Keystore) {}

  /**
   * Claim the identity agent `name` starts under, run `launch` with it, and give the claim back
   * when `launch` fails. On success the claim stays until {@link release}.
   */
  async claimed<T>(name: string, launch: (signer: Signer) => Promise<T>): Promise<T> {
    const signer = await this.#signer(name);
    const holder = this.#held.get(signer.did);
    if (holder !== undefined) {
      throw new Error(
        `cannot start agent ${name}: agent ${holder} is already running as ${signer.did} ${IN_USE}`,
      );
    }
    this.#held.set(signer.did, name);
    try {
      return await launch(signer);
    } catch (e) {
      this.#held.delete(signer.did);
      throw e;
    }
  }

  /** Give an identity back (its agent is gone for good). */
  release(did: string): void {
    this.#held.delete(did);
  }

  async #signer(name: string): Promise<Signer> {
    const ks = this.keystore;
    if (!ks) return await newAgentSigner();
    const key = `agent-${name.replace(/[^A-Za-z0-9._-]/g, "_")}`;
    if (this.#loading.has(key)) {
      throw new Error(`cannot start agent ${name}: its identity is being claimed ${IN_USE}`);
    }
    this.#loading.add(key);
    try {
      return await ks.signer(key);
    } finally {
      this.#loading.delete(key);
    }
  }
}

/** A fresh in-memory Ed25519 identity (the host keeps the key; the agent never sees it). */
export async function newAgentSigner(): Promise<Signer> {
  const kp = await crypto.subtle.generateKey({ name: "Ed25519" }, false, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return signerFromKeyPair(kp);
}
