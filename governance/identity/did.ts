/** did:key identifiers for Ed25519 public keys (multicodec 0xed01, base58btc). */

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** Base58 (Bitcoin alphabet) encoding. */
export function base58(bytes: Uint8Array): string {
  const digits: number[] = [];
  for (const byte of bytes) {
    let carry = byte;
    for (let i = 0; i < digits.length; i++) {
      carry += digits[i] << 8;
      digits[i] = carry % 58;
      carry = (carry / 58) | 0;
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = (carry / 58) | 0;
    }
  }
  let out = "";
  for (let i = 0; i < bytes.length && bytes[i] === 0; i++) out += "1";
  for (let i = digits.length - 1; i >= 0; i--) out += ALPHABET[digits[i]];
  return out;
}

/** Base58 decoding; throws on a character outside the alphabet. */
export function unbase58(text: string): Uint8Array {
  const bytes: number[] = [];
  for (const ch of text) {
    let carry = ALPHABET.indexOf(ch);
    if (carry < 0) throw new Error(`invalid base58 character ${JSON.stringify(ch)}`);
    for (let i = 0; i < bytes.length; i++) {
      carry += bytes[i] * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  for (let i = 0; i < text.length && text[i] === "1"; i++) bytes.push(0);
  return Uint8Array.from(bytes.reverse());
}

/** `did:key:z6Mk…` for a 32-byte Ed25519 public key. */
export function didFromPublicKey(raw: Uint8Array): string {
  if (raw.length !== 32) throw new Error("an Ed25519 public key is 32 bytes");
  const prefixed = new Uint8Array(34);
  prefixed[0] = 0xed;
  prefixed[1] = 0x01;
  prefixed.set(raw, 2);
  return `did:key:z${base58(prefixed)}`;
}

/** The Ed25519 public key inside a did:key; throws when it is not one. */
export function publicKeyFromDid(did: string): Uint8Array {
  if (!did.startsWith("did:key:z")) throw new Error(`not a base58btc did:key: ${did}`);
  const bytes = unbase58(did.slice("did:key:z".length));
  if (bytes.length !== 34 || bytes[0] !== 0xed || bytes[1] !== 0x01) {
    throw new Error(`not an Ed25519 did:key: ${did}`);
  }
  return bytes.slice(2);
}
