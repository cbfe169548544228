/** `deno task saga list|show|retry` over a state directory's journal. */
import { FileSagaJournal, journalPath } from "../../runtime/saga/journal.ts";
import { SagaOrchestrator } from "../../runtime/saga/orchestrator.ts";
import { AGENT, assertEquals, failing, FakeTools, makeGovernor, saga } from "./helpers.ts";

const CLI = new URL("../../runtime/cli/saga.ts", import.meta.url).pathname;

async function cli(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-read", "--allow-write", "--allow-env", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("saga CLI: list, show, retry of a needs_attention saga", async () => {
  const dir = Deno.makeTempDirSync();
  let broken = true;
  const tools = new FakeTools({
    b: failing("boom"),
    "undo-a": () => {
      if (broken) throw Object.assign(new Error("down"), { code: "unavailable" });
    },
  });
  const mk = () => {
    const journal = new FileSagaJournal(journalPath(dir));
    return {
      journal,
      orch: new SagaOrchestrator({ journal, governor: makeGovernor(), execute: tools.execute }),
    };
  };
  const one = mk();
  await one.orch.run(AGENT, saga(["a"]), { id: "ok-1" });
  await one.orch.run(AGENT, saga(["a", "b"]), { id: "stuck-1" });
  one.journal.close();

  const list = await cli("list", "--state", dir);
  assertEquals(list.code, 0);
  const rows = list.stdout.trim().split("\n").map((l) => l.split(/\s+/).slice(0, 3));
  assertEquals(rows, [["ok-1", "completed", "1/1"], ["stuck-1", "needs_attention", "0/2"]]);

  const show = await cli("show", "stuck-1", "--state", dir);
  assertEquals(show.code, 0);
  const state = JSON.parse(show.stdout);
  assertEquals(state.steps.map((s: { status: string }) => s.status), [
    "compensation_failed",
    "failed",
  ]);

  assertEquals((await cli("retry", "ok-1", "--state", dir)).code, 1);
  assertEquals((await cli("show", "nope", "--state", dir)).code, 1);
  assertEquals((await cli("bogus", "--state", dir)).code, 2);
  assertEquals((await cli("retry", "stuck-1", "--state", dir)).code, 0);

  broken = false;
  const two = mk();
  const resumed = await two.orch.resume();
  two.journal.close();
  assertEquals(resumed.map((s) => [s.id, s.status]), [["stuck-1", "compensated"]]);
  Deno.removeSync(dir, { recursive: true });
});
