/**
 * A fleet host for the saga takeover tests, reduced to what sagas need: a lease in `hosts`, the
 * PostgreSQL journal fenced by it, the sweeper, and an orchestrator over idempotent ledger tools.
 * Usage: deno run -A saga_child.ts <db-url> <host-id> <ledger.jsonl> <run:SAGA_ID|sweep>
 * Prints `CALL <key>` before each tool call, `LOST <message>` on OwnershipLost (exit 3),
 * `DONE <id> <status>` when a saga it drives ends. Tool `ship` sleeps `SHIP_MS` (env) after
 * its effect.
 */
import { connectFleetDb } from "../../runtime/fleet/db.ts";
import { Lease } from "../../runtime/fleet/lease.ts";
import {
  leaseFence,
  OwnershipLost,
  PgSagaJournal,
  SagaSweeper,
} from "../../runtime/fleet/sagas.ts";
import type { SagaExecute } from "../../runtime/saga/orchestrator.ts";
import { SagaOrchestrator } from "../../runtime/saga/orchestrator.ts";
import { AGENT, makeGovernor, saga } from "../saga/helpers.ts";
import { recordCall } from "../saga/ledger_tools.ts";

export const TTL_MS = 2_000;
export const RENEW_MS = 400;
export const DIGEST = "tools-v1";

const [url, hostId, ledger, what] = Deno.args;
const shipMs = Number(Deno.env.get("SHIP_MS") ?? "600000");
const say = (s: string) => console.log(s);

const execute: SagaExecute = async (_agent, tool, _args, key) => {
  say(`CALL ${key}`);
  recordCall(ledger, tool, key);
  if (tool === "ship") await new Promise((r) => setTimeout(r, shipMs));
  return { key };
};

const db = connectFleetDb(url);
const lease = new Lease(
  db,
  { hostId, did: `did:key:host-${hostId}`, toolsDigest: DIGEST },
  TTL_MS,
  RENEW_MS,
);
await lease.renew();
lease.start();
const journal = new PgSagaJournal(db, leaseFence(lease, TTL_MS * 0.8), DIGEST);
const orch = new SagaOrchestrator({ journal, governor: makeGovernor(), execute });
const report = (p: Promise<{ id: string; status: string }[]>) =>
  p.then((all) => all.forEach((s) => say(`DONE ${s.id} ${s.status}`))).catch((e) => {
    if (e instanceof OwnershipLost) {
      say(`LOST ${e.message}`);
      Deno.exit(3);
    }
    say(`ERROR ${(e as Error).message}`);
    Deno.exit(1);
  });
if (what.startsWith("run:")) {
  await report(
    orch.run(AGENT, saga(["reserve", "ship", "notify"]), { id: what.slice(4) }).then((s) => [s]),
  );
} else {
  const sweeper = new SagaSweeper({
    journal,
    adopt: (records) => report(orch.adopt(records)),
    everyMs: 300,
    holdMs: TTL_MS,
  });
  sweeper.start();
  setInterval(() => {}, 1000);
}
