/** SagaOrchestrator: forward, compensation, retries, deny, needs_attention, timeouts, resume. */
import { join } from "node:path";
import { FileSagaJournal, MemorySagaJournal } from "../../runtime/saga/journal.ts";
import { SagaOrchestrator } from "../../runtime/saga/orchestrator.ts";
import type { Governor } from "../../runtime/governor.ts";
import {
  AGENT,
  assertEquals,
  failing,
  FakeTools,
  makeGovernor,
  saga,
  waitForAbort,
} from "./helpers.ts";

function setup(tools: FakeTools, governor: Governor = makeGovernor()) {
  const journal = new MemorySagaJournal();
  let n = 0;
  const orch = new SagaOrchestrator({
    journal,
    governor,
    execute: tools.execute,
    newId: () => `s${++n}`,
    random: () => 0.5,
  });
  return { journal, orch, governor };
}

function sagaAudit(g: Governor): string[] {
  return g.audit.recent
    .filter((e) => String(e.action).startsWith("saga."))
    .map((e) => `${e.action} ${(e.saga as { event: string }).event}`);
}

Deno.test("happy path: steps run in order with do keys, saga completed, audited", async () => {
  const tools = new FakeTools({ b: () => ({ ok: 2 }) });
  const { orch, governor } = setup(tools);
  const s = await orch.run(AGENT, saga(["a", "b", "c"]));
  assertEquals(s.status, "completed");
  assertEquals(tools.trace(), ["a s1:0:do", "b s1:1:do", "c s1:2:do"]);
  assertEquals(s.steps.map((st) => st.status), ["succeeded", "succeeded", "succeeded"]);
  assertEquals(s.steps[1].result, { ok: 2 });
  const audit = sagaAudit(governor);
  assertEquals(audit[0], "saga.start started");
  assertEquals(audit.at(-1), "saga.end completed");
  assertEquals(audit.filter((a) => a === "saga.step succeeded").length, 3);
  const decided = governor.audit.recent.filter((e) => e.action === "tool.call");
  assertEquals(decided.map((e) => [e.resource, e.effect, e.path]), [
    ["a", "allow", "host"],
    ["b", "allow", "host"],
    ["c", "allow", "host"],
  ]);
});

Deno.test("a failing step compensates the completed steps in reverse order", async () => {
  const tools = new FakeTools({ c: failing("boom") });
  const { orch } = setup(tools);
  const s = await orch.run(AGENT, saga(["a", "b", "c", "d"]));
  assertEquals(s.status, "compensated");
  assertEquals(tools.trace(), [
    "a s1:0:do",
    "b s1:1:do",
    "c s1:2:do",
    "undo-b s1:1:undo",
    "undo-a s1:0:undo",
  ]);
  assertEquals(s.steps.map((st) => st.status), ["compensated", "compensated", "failed", "pending"]);
  assertEquals(s.steps[2].error?.code, "boom");
});

Deno.test("a step that fails with nothing to compensate leaves the saga failed", async () => {
  const tools = new FakeTools({ a: failing("boom") });
  const { orch } = setup(tools);
  const s = await orch.run(AGENT, saga(["a", "b"]));
  assertEquals(s.status, "failed");
  assertEquals(tools.trace(), ["a s1:0:do"]);
});

Deno.test("retry then success: same idempotency key on every attempt", async () => {
  const tools = new FakeTools({
    b: (_a, { n }) => {
      if (n < 3) throw Object.assign(new Error("busy"), { code: "busy" });
      return "ok";
    },
  });
  const { orch } = setup(tools);
  const s = await orch.run(
    AGENT,
    saga(["a", "b"], { retry: { attempts: 3, baseMs: 1, maxMs: 2 } }),
  );
  assertEquals(s.status, "completed");
  assertEquals(tools.trace(), ["a s1:0:do", "b s1:1:do", "b s1:1:do", "b s1:1:do"]);
  assertEquals(s.steps[1].attempts, 3);
});

Deno.test("a non-retryable error code stops retries and compensates", async () => {
  const tools = new FakeTools({ b: failing("fatal") });
  const { orch } = setup(tools);
  const s = await orch.run(
    AGENT,
    saga(["a", "b"], { retry: { attempts: 5, baseMs: 1, maxMs: 2, nonRetryable: ["fatal"] } }),
  );
  assertEquals(s.status, "compensated");
  assertEquals(tools.trace(), ["a s1:0:do", "b s1:1:do", "undo-a s1:0:undo"]);
});

Deno.test("a policy deny mid-saga is not retried and triggers compensation", async () => {
  const governor = makeGovernor(
    "  - { id: no-charge, effect: deny, action: tool.call, resource: charge }\n",
  );
  const tools = new FakeTools();
  const { orch } = setup(tools, governor);
  const s = await orch.run(
    AGENT,
    saga(["reserve", "charge", "ship"], { retry: { attempts: 4, baseMs: 1, maxMs: 2 } }),
  );
  assertEquals(s.status, "compensated");
  assertEquals(tools.trace(), ["reserve s1:0:do", "undo-reserve s1:0:undo"]);
  assertEquals(s.steps[1].error?.code, "denied");
  const deny = governor.audit.recent.find((e) => e.action === "tool.call" && e.effect === "deny");
  assertEquals([deny?.resource, deny?.rule], ["charge", "no-charge"]);
});

Deno.test("a compensation that keeps failing parks the saga; retry resumes it", async () => {
  const dir = Deno.makeTempDirSync();
  const journalFile = join(dir, "sagas.jsonl");
  let broken = true;
  const tools = new FakeTools({
    c: failing("boom"),
    "undo-b": () => {
      if (broken) throw Object.assign(new Error("store down"), { code: "unavailable" });
    },
  });
  const governor = makeGovernor();
  const opened: FileSagaJournal[] = [];
  const mk = () => {
    const journal = new FileSagaJournal(journalFile);
    opened.push(journal);
    return new SagaOrchestrator({ journal, governor, execute: tools.execute, newId: () => "s1" });
  };
  const orch = mk();
  const s = await orch.run(
    AGENT,
    saga(["a", "b", "c"], { retry: { attempts: 2, baseMs: 1, maxMs: 1 } }),
  );
  assertEquals(s.status, "needs_attention");
  assertEquals(s.steps.map((st) => st.status), ["succeeded", "compensation_failed", "failed"]);
  assertEquals(tools.trace().filter((t) => t.startsWith("undo")), [
    "undo-b s1:1:undo",
    "undo-b s1:1:undo",
  ]);
  // Not resumed automatically.
  assertEquals((await mk().resume()).length, 0);
  broken = false;
  const again = await mk().retry("s1");
  assertEquals(again.status, "compensated");
  assertEquals(tools.trace().filter((t) => t.startsWith("undo")).slice(2), [
    "undo-b s1:1:undo",
    "undo-a s1:0:undo",
  ]);
  assertEquals((await mk().get("s1"))?.status, "compensated");
  assertEquals(sagaAudit(governor).includes("saga.compensate needs_attention"), true);
  assertEquals(sagaAudit(governor).includes("saga.compensate retry"), true);
  for (const j of opened) j.close();
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a step that times out fails with code timeout and compensates", async () => {
  const tools = new FakeTools({
    b: waitForAbort,
    c: () => new Promise(() => {}), // ignores its signal entirely
  });
  const { orch } = setup(tools);
  const s1 = await orch.run(AGENT, saga(["a", "b"], { timeoutMs: 20 }));
  assertEquals(s1.status, "compensated");
  assertEquals(s1.steps[1].error?.code, "timeout");
  const s2 = await orch.run(AGENT, saga(["a", "c"], { timeoutMs: 20 }));
  assertEquals(s2.status, "compensated");
  assertEquals(s2.steps[1].error?.code, "timeout");
});

Deno.test("the saga timeout aborts the forward phase; compensation still runs", async () => {
  const tools = new FakeTools({ b: waitForAbort, "undo-a": () => "undone" });
  const { orch } = setup(tools);
  const s = await orch.run(AGENT, saga(["a", "b", "c"], {}, { timeoutMs: 30 }));
  assertEquals(s.status, "compensated");
  assertEquals(s.steps[1].error?.code, "saga_timeout");
  assertEquals(tools.trace(), ["a s1:0:do", "b s1:1:do", "undo-a s1:0:undo"]);
});

Deno.test("resume after an abandoned run re-runs the in-flight step with the same key", async () => {
  const journal = new MemorySagaJournal();
  let entered!: () => void;
  const inFlight = new Promise<void>((r) => (entered = r));
  const first = new FakeTools({
    b: () => {
      entered();
      return new Promise(() => {}); // the "crashed" host never finishes this call
    },
  });
  const orch1 = new SagaOrchestrator({
    journal,
    governor: makeGovernor(),
    execute: first.execute,
    newId: () => "s1",
  });
  orch1.run(AGENT, saga(["a", "b", "c"]));
  await inFlight;
  const second = new FakeTools();
  const orch2 = new SagaOrchestrator({
    journal,
    governor: makeGovernor(),
    execute: second.execute,
  });
  assertEquals((await orch2.get("s1"))?.steps[1].status, "running");
  const [s] = await orch2.resume();
  assertEquals(s.status, "completed");
  assertEquals(first.trace(), ["a s1:0:do", "b s1:1:do"]);
  assertEquals(second.trace(), ["b s1:1:do", "c s1:2:do"]);
});

Deno.test("resume of a compensating saga continues backwards", async () => {
  const journal = new MemorySagaJournal();
  let entered!: () => void;
  const inFlight = new Promise<void>((r) => (entered = r));
  const first = new FakeTools({
    c: failing("boom"),
    "undo-b": () => {
      entered();
      return new Promise(() => {});
    },
  });
  new SagaOrchestrator({
    journal,
    governor: makeGovernor(),
    execute: first.execute,
    newId: () => "s1",
  })
    .run(AGENT, saga(["a", "b", "c"]));
  await inFlight;
  const second = new FakeTools();
  const orch2 = new SagaOrchestrator({
    journal,
    governor: makeGovernor(),
    execute: second.execute,
  });
  const [s] = await orch2.resume();
  assertEquals(s.status, "compensated");
  assertEquals(second.trace(), ["undo-b s1:1:undo", "undo-a s1:0:undo"]);
});

Deno.test("run rejects an invalid definition and a reused id", async () => {
  const { orch } = setup(new FakeTools());
  let msg = "";
  try {
    await orch.run(AGENT, { name: "x", steps: [] });
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(msg.startsWith("invalid saga definition: steps"), true);
  await orch.run(AGENT, saga(["a"]), { id: "fixed" });
  msg = "";
  try {
    await orch.run(AGENT, saga(["a"]), { id: "fixed" });
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(msg, "saga fixed already exists");
});
