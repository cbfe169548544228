/** Ed25519 signatures with WebCrypto (no I/O). */
import { didFromPublicKey, publicKeyFromDid } from "./did.ts";

/** Base64url without padding. */
export function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function unb64url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
  const s = atob(
    text.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (text.length % 4)) % 4),
  );
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** A signing identity: its did:key and a sign function (the private key never leaves it). */
export interface Signer {
  readonly did: string;
  readonly publicKey: Uint8Array;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** Wrap a WebCrypto Ed25519 key pair as a Signer. */
export async function signerFromKeyPair(kp: CryptoKeyPair): Promise<Signer> {
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", kp.publicKey));
  return {
    did: didFromPublicKey(publicKey),
    publicKey,
    sign: async (data) =>
      new Uint8Array(await crypto.subtle.sign("Ed25519", kp.privateKey, data as BufferSource)),
  };
}

const importCache = new Map<string, Promise<CryptoKey>>();

/** Verify an Ed25519 signature by the key inside `did`. False (never a throw) on any problem. */
export async function verifyDid(
  did: string,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  try {
    let key = importCache.get(did);
    if (!key) {
      const raw = publicKeyFromDid(did);
      key = crypto.subtle.importKey("raw", raw as BufferSource, { name: "Ed25519" }, false, [
        "verify",
      ]);
      if (importCache.size > 1024) importCache.clear();
      importCache.set(did, key);
    }
    if (signature.length !== 64) return false;
    return await crypto.subtle.verify(
      "Ed25519",
      await key,
      signature as BufferSource,
      data as BufferSource,
    );
  } catch {
    return false;
  }
}
