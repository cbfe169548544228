/** Verify an audit log file against its chain and its signed checkpoints; build and check proofs. */
import {
  type Checkpoint,
  hashBody,
  hex,
  inclusionProof,
  MerkleFrontier,
  unhex,
  verifyCheckpoint,
  verifyInclusion,
  verifyLines,
} from "../../governance/audit/mod.ts";
import { checkpointPath } from "./log.ts";

export interface VerifyResult {
  ok: boolean;
  entries: number;
  checkpoints: number;
  /** Entries covered by the latest valid checkpoint. */
  covered: number;
  key: string | null;
  /** Index of the first bad entry (when known). */
  firstBad: number | null;
  problem: string | null;
}

/** Read a text file (as bytes, then one UTF-8 decode: faster than readTextFileSync on big logs). */
function readText(path: string): string {
  return new TextDecoder().decode(Deno.readFileSync(path));
}

function lines(text: string): string[] {
  const l = text.split("\n");
  if (l[l.length - 1] === "") l.pop();
  return l;
}

/** Verify `path` (and `path.checkpoints`). `key` pins the host key the checkpoints must carry. */
export async function verifyLog(path: string, key?: string): Promise<VerifyResult> {
  const raw = lines(readText(path));
  let cps: Checkpoint[] | null;
  try {
    cps = lines(Deno.readTextFileSync(checkpointPath(path))).map((l) => JSON.parse(l));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      return {
        ok: false,
        entries: raw.length,
        checkpoints: 0,
        covered: 0,
        key: key ?? null,
        firstBad: null,
        problem: `${checkpointPath(path)}: unreadable checkpoints: ${(e as Error).message}`,
      };
    }
    cps = null;
  }
  return await verifyEntries(raw, cps, key, `checkpoint sidecar ${checkpointPath(path)}`);
}

/**
 * Verify log lines (exactly as written) against their chain and signed checkpoints (`null`:
 * none were kept, named `sidecar` in the problem). The fleet verifier feeds each host's rows
 * from the database through this same check (runtime/fleet/audit_verify.ts).
 */
export async function verifyEntries(
  raw: readonly string[],
  cps: readonly Checkpoint[] | null,
  key?: string,
  sidecar = "checkpoints",
): Promise<VerifyResult> {
  const res: VerifyResult = {
    ok: false,
    entries: 0,
    checkpoints: 0,
    covered: 0,
    key: key ?? null,
    firstBad: null,
    problem: null,
  };
  const fail = (firstBad: number | null, problem: string) => ({ ...res, firstBad, problem });
  res.entries = raw.length;
  const chain = verifyLines(raw);
  const chainBad: number | null = chain.bad >= 0 ? chain.bad : null;
  const entries = { length: raw.length };

  if (cps === null) {
    if (chainBad !== null) return fail(chainBad, `entry ${chainBad} is bad: ${chain.why}`);
    return fail(null, `no ${sidecar}: a truncated tail cannot be ruled out`);
  }
  const tree = new MerkleFrontier();
  let fed = 0;
  let prevSize = 0;
  for (let k = 0; k < cps.length; k++) {
    const cp = cps[k];
    if (!(await verifyCheckpoint(cp))) return fail(chainBad, `checkpoint ${k}: bad signature`);
    res.key ??= cp.key;
    if (cp.key !== res.key) {
      return fail(chainBad, `checkpoint ${k} is signed by ${cp.key}, not ${res.key}`);
    }
    if (cp.size < prevSize) {
      return fail(chainBad, `checkpoint ${k} covers fewer entries than checkpoint ${k - 1}`);
    }
    if (cp.size > entries.length) {
      const first = chainBad !== null ? Math.min(chainBad, entries.length) : entries.length;
      return fail(
        first,
        `truncated: checkpoint ${k} (signed ${cp.ts}) covers ${cp.size} entries, the log has ${entries.length}; entry ${entries.length} onwards is missing`,
      );
    }
    if (chainBad !== null && cp.size > chainBad) {
      return fail(chainBad, `entry ${chainBad} is bad: ${chain.why}`);
    }
    while (fed < cp.size) tree.append(unhex(chain.hashes[fed++]));
    if (hex(tree.root()) !== cp.root) {
      const first = chainBad ?? prevSize;
      return fail(
        first,
        chainBad !== null
          ? `entry ${chainBad} is bad: ${chain.why}`
          : `entries ${prevSize}..${
            cp.size - 1
          } do not match signed checkpoint ${k} (the log was rewritten); the first bad entry is at or after ${prevSize}`,
      );
    }
    prevSize = cp.size;
    res.checkpoints++;
    res.covered = cp.size;
  }
  if (chainBad !== null) return fail(chainBad, `entry ${chainBad} is bad: ${chain.why}`);
  return { ...res, ok: true };
}

/** An inclusion proof that `audit verify --proof` can check without the log. */
export interface InclusionProofFile {
  v: 1;
  index: number;
  size: number;
  entry: string;
  leaf: string;
  path: string[];
  checkpoint: Checkpoint;
}

/** Prove that entry `index` is in the tree of the latest checkpoint covering it. */
export async function proveEntry(path: string, index: number): Promise<InclusionProofFile> {
  const raw = lines(Deno.readTextFileSync(path));
  if (!Number.isSafeInteger(index) || index < 0 || index >= raw.length) {
    throw new Error(`entry ${index} does not exist (the log has ${raw.length} entries)`);
  }
  const cps = lines(Deno.readTextFileSync(checkpointPath(path))).map((l) =>
    JSON.parse(l) as Checkpoint
  );
  const cp = [...cps].reverse().find((c) => c.size > index && c.size <= raw.length);
  if (!cp) throw new Error(`no checkpoint covers entry ${index} yet`);
  if (!(await verifyCheckpoint(cp))) throw new Error("the covering checkpoint has a bad signature");
  const chain = verifyLines(raw.slice(0, cp.size));
  if (chain.bad >= 0) throw new Error(`entry ${chain.bad} is bad: ${chain.why}`);
  const leaves = chain.hashes.map(unhex);
  return {
    v: 1,
    index,
    size: cp.size,
    entry: raw[index],
    leaf: chain.hashes[index],
    path: inclusionProof(leaves, index, cp.size).map((b) => hex(b)),
    checkpoint: cp,
  };
}

/** Check a proof: the checkpoint's signature (and pinned key), the leaf, and the audit path. */
export async function verifyProof(p: InclusionProofFile, key?: string): Promise<string | null> {
  if (p?.v !== 1) return "not a Warden inclusion proof";
  if (!(await verifyCheckpoint(p.checkpoint))) return "the checkpoint's signature does not verify";
  if (key && p.checkpoint.key !== key) {
    return `the checkpoint is signed by ${p.checkpoint.key}, not ${key}`;
  }
  if (p.size !== p.checkpoint.size) return "the proof's tree size differs from its checkpoint";
  let leaf: Uint8Array;
  try {
    const e = JSON.parse(p.entry) as { seq: unknown; prev: string };
    const m = /,"hash":"([0-9a-f]{64})"\}$/.exec(p.entry);
    if (
      !m || hashBody(e.prev, p.entry.slice(0, p.entry.length - m[0].length) + "}") !== m[1] ||
      m[1] !== p.leaf
    ) {
      return "the entry does not hash to the proof's leaf";
    }
    if (e.seq !== p.index) {
      return `the proof's index ${p.index} is not the entry's position ${e.seq}`;
    }
    leaf = unhex(p.leaf);
  } catch {
    return "the entry does not hash to the proof's leaf";
  }
  try {
    if (!verifyInclusion(leaf, p.index, p.size, p.path.map(unhex), unhex(p.checkpoint.root))) {
      return "the audit path does not lead to the signed root";
    }
  } catch {
    return "malformed audit path";
  }
  return null;
}
