/**
 * Child process for the crash-recovery test: runs a saga whose step 2 (`ship`) takes effect
 * and then hangs, so the test can kill -9 this process mid-saga.
 * Usage: deno run -A crash_child.ts <journal.jsonl> <ledger.jsonl> <saga-id>
 */
import { FileSagaJournal } from "../../runtime/saga/journal.ts";
import { SagaOrchestrator } from "../../runtime/saga/orchestrator.ts";
import { AGENT, makeGovernor, saga } from "./helpers.ts";
import { ledgerExecute } from "./ledger_tools.ts";

const [journal, ledger, id] = Deno.args;
// Keep the event loop alive while `ship` hangs (until the test kills this process).
setInterval(() => {}, 1000);
const orch = new SagaOrchestrator({
  journal: new FileSagaJournal(journal),
  governor: makeGovernor(),
  execute: ledgerExecute(ledger, ["ship"]),
});
await orch.run(AGENT, saga(["reserve", "ship", "notify"]), { id });
