// The audit log folds chain hashes into its Merkle tree after the answer (in a microtask), not
// on the decision path: every checkpoint must still cover exactly the lines before it, however
// appends, commits, checkpoints, reopenings and microtask turns interleave.
import { join } from "node:path";
import fc from "fast-check";
import { assertEquals } from "../policy/asserts.ts";
import type { AuditFields } from "../../governance/audit/mod.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { verifyLog } from "../../runtime/audit/verify.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";

const fields = (i: number): AuditFields => ({
  ts: new Date(1_700_000_000_000 + i).toISOString(),
  path: "broker",
  agent: { id: "did:key:z6MkA", name: "a", ring: 2 },
  action: "fs.read",
  resource: `/ws/file-${i}`,
  effect: i % 3 ? "allow" : "deny",
  rule: null,
  reason: `reason ${i}`,
});

const step = fc.constantFrom(
  "append",
  "append",
  "append",
  "commit",
  "checkpoint",
  "tick",
  "reopen",
);

Deno.test("audit fold: checkpoints match the lines under any interleaving", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-fold-" });
  const signer = await new Keystore(join(dir, "keys")).signer("host");
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        async (steps, every) => {
          const path = join(dir, `audit-${run++}.jsonl`);
          const open = () =>
            new AuditLog(path, { signer, checkpointEvery: every, checkpointMs: 60_000 });
          let log = open();
          let i = 0;
          const pending: Promise<unknown>[] = [];
          for (const s of steps) {
            if (s === "append") log.append(fields(i++)); // checkpoints may run before the fold
            else if (s === "commit") log.commit();
            else if (s === "checkpoint") {
              // A checkpoint taken before the fold's microtask still covers every entry so far.
              const size = log.size;
              pending.push(log.checkpoint().then((cp) => cp && assertEquals(cp.size, size)));
            } else if (s === "tick") await Promise.resolve();
            else {
              await log.close();
              log = open(); // resume: the tree from the file, then new unfolded entries
            }
          }
          await Promise.all(pending);
          await log.close();
          if (i === 0) return; // nothing appended: no checkpoint, nothing to verify
          const r = await verifyLog(path, signer.did);
          assertEquals([r.ok, r.problem ?? null, r.entries, r.covered], [true, null, i, i]);
        },
      ),
      { numRuns: 150 },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
