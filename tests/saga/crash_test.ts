/** Crash recovery: kill -9 a host process mid-saga, resume from the same journal. */
import { join } from "node:path";
import { FileSagaJournal } from "../../runtime/saga/journal.ts";
import { SagaOrchestrator } from "../../runtime/saga/orchestrator.ts";
import { AGENT, assertEquals, makeGovernor } from "./helpers.ts";
import { killAtEffect, ledgerExecute, readLedger } from "./ledger_tools.ts";

const CHILD = new URL("./crash_child.ts", import.meta.url).pathname;

Deno.test("kill -9 mid-saga, then resume: completes, no duplicate effects", async () => {
  const dir = Deno.makeTempDirSync();
  const journalFile = join(dir, "sagas.jsonl");
  const ledger = join(dir, "ledger.jsonl");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", CHILD, journalFile, ledger, "crash-1"],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  // Step 2 has taken effect and hangs: kill the host there.
  const status = await killAtEffect(child, ledger, (l) => l.key === "crash-1:1:do");
  assertEquals(status.signal, "SIGKILL");

  const journal = new FileSagaJournal(journalFile);
  const orch = new SagaOrchestrator({
    journal,
    governor: makeGovernor(),
    execute: ledgerExecute(ledger),
  });
  assertEquals((await orch.get("crash-1"))?.status, "running");
  assertEquals((await orch.get("crash-1"))?.steps[1].status, "running");
  const resumed = await orch.resume();
  journal.close();
  assertEquals(resumed.map((s) => [s.id, s.status]), [["crash-1", "completed"]]);

  const lines = readLedger(ledger);
  const effects = lines.filter((l) => l.event === "effect").map((l) => l.key);
  assertEquals(effects, ["crash-1:0:do", "crash-1:1:do", "crash-1:2:do"]);
  const calls = lines.filter((l) => l.event === "call").map((l) => l.key);
  // Only the in-flight step ran twice, with the same key.
  assertEquals(calls, ["crash-1:0:do", "crash-1:1:do", "crash-1:1:do", "crash-1:2:do"]);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a second resume of a finished journal does nothing", async () => {
  const dir = Deno.makeTempDirSync();
  const journalFile = join(dir, "sagas.jsonl");
  const ledger = join(dir, "ledger.jsonl");
  const j1 = new FileSagaJournal(journalFile);
  const orch = new SagaOrchestrator({
    journal: j1,
    governor: makeGovernor(),
    execute: ledgerExecute(ledger),
  });
  await orch.run(AGENT, {
    name: "one",
    steps: [{ name: "x", action: { tool: "x", args: {} }, compensation: { tool: "y", args: {} } }],
  }, { id: "done-1" });
  j1.close();
  const j2 = new FileSagaJournal(journalFile);
  const again = new SagaOrchestrator({
    journal: j2,
    governor: makeGovernor(),
    execute: ledgerExecute(ledger),
  });
  assertEquals(await again.resume(), []);
  j2.close();
  assertEquals(readLedger(ledger).filter((l) => l.event === "call").length, 1);
  Deno.removeSync(dir, { recursive: true });
});
