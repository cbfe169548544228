/** The file journal: durable appends, reload, torn last lines. */
import { join } from "node:path";
import type { SagaRecord } from "../../governance/saga/mod.ts";
import { FileSagaJournal, journalPath, parseJournal } from "../../runtime/saga/journal.ts";
import { AGENT, assertEquals, saga } from "./helpers.ts";

const started: SagaRecord = {
  type: "saga.started",
  saga: "s",
  ts: 1,
  agent: AGENT,
  definition: saga(["a"]),
};
const step: SagaRecord = { type: "step.started", saga: "s", ts: 2, step: 0, attempt: 1 };

Deno.test("append then load round-trips records across instances", async () => {
  const dir = Deno.makeTempDirSync();
  const path = journalPath(dir);
  const j = new FileSagaJournal(path);
  assertEquals(await j.load(), []);
  await j.append(started);
  await j.append(step);
  j.close();
  const j2 = new FileSagaJournal(path);
  assertEquals(await j2.load(), [started, step]);
  j2.close();
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a torn last line is tolerated on load and cut off before the next append", async () => {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "sagas.jsonl");
  const full = JSON.stringify(started) + "\n";
  const torn = JSON.stringify(step).slice(0, 20);
  Deno.writeTextFileSync(path, full + torn);
  const j = new FileSagaJournal(path);
  assertEquals(await j.load(), [started]);
  await j.append(step);
  assertEquals(await j.load(), [started, step]);
  j.close();
  assertEquals(Deno.readTextFileSync(path), full + JSON.stringify(step) + "\n");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a bad line before the end is an error with its line number", () => {
  const text = JSON.stringify(started) + "\n{oops\n" + JSON.stringify(step) + "\n";
  let msg = "";
  try {
    parseJournal(text, "j.jsonl");
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(msg, "j.jsonl:2: not a valid saga record");
  assertEquals(parseJournal(JSON.stringify(started) + '\n{"type":"step.st'), [started]);
});
