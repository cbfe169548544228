/**
 * `deno task audit verify <file> [--key did:key:…]` — exit 0 when the chain and the signed
 *   checkpoints hold, else 1 naming the first bad entry.
 * `deno task audit prove <file> <index>` — print an inclusion proof (JSON).
 * `deno task audit verify --proof <proof.json> [--key did:key:…]` — check a proof offline.
 */
import {
  CliError,
  type CliSpec,
  command,
  FileError,
  fsProblem,
  intFlag,
  readJson,
  runCli,
  UsageError,
} from "./runner.ts";
import { type InclusionProofFile, proveEntry, verifyLog, verifyProof } from "../audit/verify.ts";

/** A failure reading `file`, as one line naming it. */
function fileFailure(file: string, e: unknown): never {
  if (e instanceof CliError) throw e;
  const msg = e instanceof Deno.errors.NotFound
    ? "no such file"
    : e instanceof Deno.errors.IsADirectory
    ? fsProblem(e)
    : (e as Error).message;
  throw new FileError(file, msg);
}

async function verify(
  { values: o, positionals: [file] }: {
    values: { key?: string; proof?: string };
    positionals: string[];
  },
): Promise<number> {
  if (o.proof !== undefined && file !== undefined) {
    throw new CliError("give either <audit.jsonl> or --proof <proof.json>, not both");
  }
  if (o.proof !== undefined) {
    const p = readJson(o.proof, undefined, "--proof") as InclusionProofFile;
    let bad;
    try {
      bad = await verifyProof(p, o.key);
    } catch (e) {
      fileFailure(o.proof, e);
    }
    if (bad) throw new FileError(o.proof, bad);
    console.log(
      `ok: entry ${p.index} is in the log of ${p.size} entries signed by ${p.checkpoint.key} at ${p.checkpoint.ts}`,
    );
    return 0;
  }
  if (file === undefined) throw new UsageError("missing argument: <audit.jsonl> or --proof FILE");
  let r;
  try {
    r = await verifyLog(file, o.key);
  } catch (e) {
    fileFailure(file, e);
  }
  if (!r.ok) {
    console.error(
      `${file}: ${
        r.firstBad !== null ? `first bad entry ${r.firstBad} (line ${r.firstBad + 1}): ` : ""
      }${r.problem}`,
    );
    return 1;
  }
  const tail = r.entries - r.covered;
  console.log(
    `ok: ${r.entries} entries, hash chain intact, ${r.checkpoints} checkpoint(s) signed by ${r.key}` +
      (tail > 0 ? `; the last ${tail} entries are after the latest checkpoint (chain only)` : ""),
  );
  return 0;
}

async function prove({ positionals: [file, index] }: { positionals: string[] }): Promise<number> {
  const i = intFlag("<index>", index, 0, Number.MAX_SAFE_INTEGER)!;
  let proof;
  try {
    proof = await proveEntry(file, i);
  } catch (e) {
    fileFailure(file, e);
  }
  console.log(JSON.stringify(proof, null, 2));
  return 0;
}

/** `deno task audit`. */
export const spec: CliSpec = {
  name: "audit",
  subcommands: {
    verify: command({
      args: "<audit.jsonl> [--key did:key:…] | --proof <proof.json> [--key did:key:…]",
      options: { key: { type: "string" }, proof: { type: "string" } },
      positionals: [0, 1],
      files: [{ args: (p) => [p] }, { args: (p) => ["--proof", p] }],
      main: verify,
    }),
    prove: command({
      args: "<audit.jsonl> <index>",
      positionals: [2, 2],
      files: [{ args: (p) => [p, "0"] }],
      main: prove,
    }),
  },
};

if (import.meta.main) await runCli(spec);
