/** Signed audit checkpoints: (tree size, Merkle root, time) signed by the host key. */
import { b64url, type Signer, unb64url, verifyDid } from "../identity/sign.ts";

/** One checkpoint line in the sidecar file. */
export interface Checkpoint {
  v: 1;
  size: number;
  root: string;
  ts: string;
  key: string;
  sig: string;
}

/** The exact bytes a checkpoint signature covers. */
export function checkpointBytes(size: number, root: string, ts: string): Uint8Array {
  return new TextEncoder().encode(`warden-audit-checkpoint/v1\n${size}\n${root}\n${ts}\n`);
}

/** Sign a checkpoint. */
export async function signCheckpoint(
  signer: Signer,
  size: number,
  root: string,
  ts: string,
): Promise<Checkpoint> {
  const sig = await signer.sign(checkpointBytes(size, root, ts));
  return { v: 1, size, root, ts, key: signer.did, sig: b64url(sig) };
}

/** Check a checkpoint's signature (by its own key; callers pin the key they trust). */
export async function verifyCheckpoint(c: Checkpoint): Promise<boolean> {
  if (c?.v !== 1 || !Number.isSafeInteger(c.size) || c.size < 0 || typeof c.root !== "string") {
    return false;
  }
  try {
    return await verifyDid(c.key, checkpointBytes(c.size, c.root, c.ts), unb64url(c.sig));
  } catch {
    return false;
  }
}
