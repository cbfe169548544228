/**
 * `deno task audit verify <file> [--key did:key:…]` — exit 0 when the chain and the signed
 *   checkpoints hold, else 1 naming the first bad entry.
 * `deno task audit prove <file> <index>` — print an inclusion proof (JSON).
 * `deno task audit verify --proof <proof.json> [--key did:key:…]` — check a proof offline.
 */
import { parseCli } from "./args.ts";
import { type InclusionProofFile, proveEntry, verifyLog, verifyProof } from "../audit/verify.ts";

const USAGE = `usage: deno task audit verify <audit.jsonl> [--key did:key:…]
       deno task audit prove <audit.jsonl> <index>
       deno task audit verify --proof <proof.json> [--key did:key:…]`;

async function main(): Promise<number> {
  const parsed = parseCli({ key: { type: "string" }, proof: { type: "string" } }, USAGE);
  if (!parsed) return 2;
  const { values: o, positionals: [cmd, file, index, ...rest] } = parsed;
  try {
    if (cmd === "verify" && o.proof && !file) {
      const p = JSON.parse(Deno.readTextFileSync(o.proof)) as InclusionProofFile;
      const bad = await verifyProof(p, o.key);
      if (bad) {
        console.error(`${o.proof}: ${bad}`);
        return 1;
      }
      console.log(
        `ok: entry ${p.index} is in the log of ${p.size} entries signed by ${p.checkpoint.key} at ${p.checkpoint.ts}`,
      );
      return 0;
    }
    if (cmd === "verify" && file && index === undefined) {
      const r = await verifyLog(file, o.key);
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
          (tail > 0
            ? `; the last ${tail} entries are after the latest checkpoint (chain only)`
            : ""),
      );
      return 0;
    }
    if (cmd === "prove" && file && index !== undefined && rest.length === 0) {
      console.log(JSON.stringify(await proveEntry(file, Number(index)), null, 2));
      return 0;
    }
  } catch (e) {
    const msg = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    console.error(`${cmd === "verify" && o.proof ? o.proof : file}: ${msg}`);
    return 1;
  }
  console.error(USAGE);
  return 2;
}

Deno.exit(await main());
