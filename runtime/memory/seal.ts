/**
 * What makes a memory entry checkable: the SHA-256 of its value's bytes, and the store's own
 * sealing key (`<db>.key`, 32 random bytes as hex, mode 0600) under which each row's fields are
 * HMAC'd (runtime/memory/store.ts).
 */
import { randomBytes } from "node:crypto";
import { sha256Hex } from "../../governance/audit/sha256.ts";

const HEX = new WeakMap<Uint8Array, string>();

/**
 * The seal of a row's fields under the store's key, HMAC-style in two one-shot SHA-256 calls,
 * `H("o" k ‖ H("i" k ‖ fields))` (node's createHmac costs about 20 µs a call on Deno 2.9.6, this
 * about 7; the outer hash of a fixed-length input leaves no length extension).
 */
export function sealFields(key: Uint8Array, fields: unknown[]): string {
  let k = HEX.get(key);
  if (k === undefined) {
    HEX.set(
      key,
      k = Array.from(key, (b) => b.toString(16).padStart(2, "0")).join(""),
    );
  }
  return sha256Hex(`o${k}${sha256Hex(`i${k}${JSON.stringify(fields)}`)}`);
}

/** The SHA-256 of a value's UTF-8 bytes (hex). */
export function contentHash(text: string): string {
  return sha256Hex(text);
}

/** The store's sealing key: `<db>.key` (64 hex digits), created (0600) on first open. */
export function storeKey(path: string, create: boolean): Uint8Array {
  const file = `${path}.key`;
  let text: string | null = null;
  try {
    text = Deno.readTextFileSync(file).trim();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) || !create) throw e;
  }
  if (text !== null) {
    if (!/^[0-9a-f]{64}$/.test(text)) throw new Error(`${file}: not a memory store key`);
    return Uint8Array.from(text.match(/../g)!.map((h) => parseInt(h, 16)));
  }
  const key = randomBytes(32);
  Deno.writeTextFileSync(file, key.toString("hex") + "\n", { mode: 0o600, createNew: true });
  return key;
}
