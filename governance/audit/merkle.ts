/**
 * RFC 6962 / RFC 9162 Merkle tree over audit lines: leaf = SHA-256(0x00 || line),
 * node = SHA-256(0x01 || left || right). Pure (hashing only, no I/O).
 */
import { Buffer } from "node:buffer";
import { sha256Hex } from "./sha256.ts";

/** RFC 6962 leaf hash of arbitrary data (audit entries use their chain hash, which is one). */
export function leafHash(line: string): Uint8Array {
  return unhex(sha256Hex("\0" + line));
}

const NODE_INPUT = new Uint8Array(65);
NODE_INPUT[0] = 1;

/** Interior node hash. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length === 32 && right.length === 32) {
    NODE_INPUT.set(left, 1);
    NODE_INPUT.set(right, 33);
    return unhex(sha256Hex(NODE_INPUT));
  }
  const input = new Uint8Array(1 + left.length + right.length);
  input[0] = 1;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return unhex(sha256Hex(input));
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) NIBBLE["0123456789abcdef".charCodeAt(i)] = i;

/** Lowercase hex to bytes; throws on anything else. */
export function unhex(s: string): Uint8Array {
  if (s.length % 2 !== 0) throw new Error("not lowercase hex");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = NIBBLE[s.charCodeAt(2 * i)] ?? -1, lo = NIBBLE[s.charCodeAt(2 * i + 1)] ?? -1;
    if (hi < 0 || lo < 0) throw new Error("not lowercase hex");
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Hash of the empty tree. */
export const EMPTY_ROOT: Uint8Array = unhex(sha256Hex(""));

/**
 * Append-only Merkle tree that keeps only the roots of its perfect subtrees ("frontier"):
 * O(log n) memory, O(1) amortized hashing per append, the root of any prefix it has seen.
 */
export class MerkleFrontier {
  #frontier: Uint8Array[] = []; // #frontier[i]: root of a perfect subtree of 2^i leaves, or empty
  size = 0;

  append(leaf: Uint8Array): void {
    let h = leaf;
    let i = 0;
    let n = this.size;
    while (n & 1) {
      h = nodeHash(this.#frontier[i], h);
      this.#frontier[i] = new Uint8Array(0);
      n >>= 1;
      i++;
    }
    this.#frontier[i] = h;
    this.size++;
  }

  /** Merkle tree hash of all leaves appended so far. */
  root(): Uint8Array {
    if (this.size === 0) return EMPTY_ROOT;
    let acc: Uint8Array | null = null;
    for (let i = 0; i < this.#frontier.length; i++) {
      const f = this.#frontier[i];
      if (!f || f.length === 0) continue;
      acc = acc === null ? f : nodeHash(f, acc);
    }
    return acc!;
  }
}

/** MTH of leaves[lo, hi) (RFC 6962 §2.1), recursive. */
function subtree(leaves: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leaves[lo];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return nodeHash(subtree(leaves, lo, lo + k), subtree(leaves, lo + k, hi));
}

/** Root of a whole list of leaf hashes. */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  const f = new MerkleFrontier();
  for (const l of leaves) f.append(l);
  return f.root();
}

/** Inclusion proof (audit path) for leaf `index` in the tree of the first `size` leaves. */
export function inclusionProof(
  leaves: readonly Uint8Array[],
  index: number,
  size: number,
): Uint8Array[] {
  if (!(index >= 0 && index < size && size <= leaves.length)) throw new Error("index out of range");
  const path: Uint8Array[] = [];
  const walk = (m: number, lo: number, hi: number) => {
    const n = hi - lo;
    if (n <= 1) return;
    let k = 1;
    while (k * 2 < n) k *= 2;
    if (m < k) {
      walk(m, lo, lo + k);
      path.push(subtree(leaves, lo + k, hi));
    } else {
      walk(m - k, lo + k, hi);
      path.push(subtree(leaves, lo, lo + k));
    }
  };
  walk(index, 0, size);
  return path;
}

/** Check an inclusion proof (RFC 9162 §2.1.3.2). */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  path: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if ((fn & 1) === 1 || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1) === 0) {
        while (fn !== 0 && (fn & 1) === 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && hex(r) === hex(root);
}
