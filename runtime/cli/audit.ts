/**
 * `deno task audit verify <file> [--key did:key:…]` — exit 0 when the chain and the signed
 *   checkpoints hold, else 1 naming the first bad entry.
 * `deno task audit prove <file> <index>` — print an inclusion proof (JSON).
 * `deno task audit verify --proof <proof.json> [--key did:key:…]` — check a proof offline.
 * `deno task audit verify --fleet [URL]` — re-verify every host's shipped chain from the fleet
 *   database (URL or `WARDEN_FLEET_URL`): exit 0 when all hold, else 1 naming (host, seq).
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
import { connectFleetDb, fleetUrl } from "../fleet/db.ts";
import { verifyFleet } from "../fleet/audit_verify.ts";

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

/** `verify --fleet [URL]`: every host's shipped chain, from the fleet database. */
async function verifyFleetCli(url: string | undefined): Promise<number> {
  url = fleetUrl(url);
  if (url === undefined) throw new UsageError("--fleet: give the URL or set WARDEN_FLEET_URL");
  let db;
  try {
    db = connectFleetDb(url, { deadlineMs: 60_000 });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  let verdicts;
  try {
    verdicts = await verifyFleet(db);
  } catch (e) {
    throw new CliError((e as Error).message);
  } finally {
    await db.close();
  }
  if (verdicts.length === 0) {
    console.log("ok: no host has shipped audit entries yet");
    return 0;
  }
  let bad = 0;
  for (const v of verdicts) {
    if (!v.ok) {
      bad++;
      console.error(
        `host ${v.host}: ${
          v.firstBadSeq !== null ? `first bad entry seq ${v.firstBadSeq}: ` : ""
        }${v.problem}`,
      );
      continue;
    }
    const tail = v.entries - v.covered;
    console.log(
      `ok: host ${v.host}: ${v.entries} entries, hash chain intact, ${v.checkpoints} checkpoint(s) signed by ${v.key}` +
        (tail > 0 ? `; the last ${tail} after the latest checkpoint (chain only)` : ""),
    );
  }
  return bad > 0 ? 1 : 0;
}

async function verify(
  { values: o, positionals: [file] }: {
    values: { key?: string; proof?: string; fleet?: boolean };
    positionals: string[];
  },
): Promise<number> {
  if (o.fleet) {
    if (o.proof !== undefined || o.key !== undefined) {
      throw new UsageError("--fleet takes no --proof or --key (each host's key is its did)");
    }
    return await verifyFleetCli(file);
  }
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
      args:
        "<audit.jsonl> [--key did:key:…] | --proof <proof.json> [--key did:key:…] | --fleet [URL]",
      options: { key: { type: "string" }, proof: { type: "string" }, fleet: { type: "boolean" } },
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
