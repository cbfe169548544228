/** The pure saga reducer, next-move rule, backoff and schemas. */
import {
  backoffDelay,
  idempotencyKey,
  isRetryable,
  nextMove,
  replay,
  SagaDefinition,
  type SagaEvent,
  type SagaRecord,
} from "../../governance/saga/mod.ts";
import { AGENT, assertEquals, saga } from "./helpers.ts";

let ts = 0;
const rec = (e: SagaEvent, id = "s"): SagaRecord => ({ ...e, saga: id, ts: ++ts }) as SagaRecord;
const start = (n = 3, id = "s") =>
  rec({ type: "saga.started", agent: AGENT, definition: saga(["a", "b", "c"].slice(0, n)) }, id);

Deno.test("replay: forward progress and completion", () => {
  const rs = [
    start(),
    rec({ type: "step.started", step: 0, attempt: 1 }),
    rec({ type: "step.succeeded", step: 0, attempt: 1, result: 7 }),
    rec({ type: "step.started", step: 1, attempt: 1 }),
  ];
  let s = replay(rs).get("s")!;
  assertEquals(s.status, "running");
  assertEquals(s.steps.map((x) => x.status), ["succeeded", "running", "pending"]);
  assertEquals(s.steps[0].result, 7);
  assertEquals(nextMove(s), { kind: "do", step: 1 });
  rs.push(
    rec({ type: "step.succeeded", step: 1, attempt: 1 }),
    rec({ type: "step.started", step: 2, attempt: 1 }),
    rec({ type: "step.succeeded", step: 2, attempt: 1 }),
  );
  s = replay(rs).get("s")!;
  assertEquals(nextMove(s), { kind: "complete" });
  rs.push(rec({ type: "saga.completed" }));
  s = replay(rs).get("s")!;
  assertEquals([s.status, nextMove(s).kind], ["completed", "none"]);
});

Deno.test("replay: a non-final failure keeps running; a final one compensates backwards", () => {
  const err = { code: "boom", message: "x" };
  const rs = [
    start(),
    rec({ type: "step.started", step: 0, attempt: 1 }),
    rec({ type: "step.succeeded", step: 0, attempt: 1 }),
    rec({ type: "step.started", step: 1, attempt: 1 }),
    rec({ type: "step.succeeded", step: 1, attempt: 1 }),
    rec({ type: "step.started", step: 2, attempt: 1 }),
    rec({ type: "step.failed", step: 2, attempt: 1, error: err, final: false }),
  ];
  let s = replay(rs).get("s")!;
  assertEquals([s.status, nextMove(s)], ["running", { kind: "do", step: 2 }]);
  rs.push(
    rec({ type: "step.started", step: 2, attempt: 2 }),
    rec({ type: "step.failed", step: 2, attempt: 2, error: err, final: true }),
  );
  s = replay(rs).get("s")!;
  assertEquals(s.status, "compensating");
  assertEquals(s.reason, 'step 2 "c" failed: boom: x');
  assertEquals(s.steps[2].attempts, 2);
  assertEquals(nextMove(s), { kind: "undo", step: 1 });
  rs.push(rec({ type: "compensation.started", step: 1, attempt: 1 }));
  assertEquals(nextMove(replay(rs).get("s")!), { kind: "undo", step: 1 });
  rs.push(rec({ type: "compensation.succeeded", step: 1, attempt: 1 }));
  assertEquals(nextMove(replay(rs).get("s")!), { kind: "undo", step: 0 });
  rs.push(
    rec({ type: "compensation.started", step: 0, attempt: 1 }),
    rec({ type: "compensation.succeeded", step: 0, attempt: 1 }),
  );
  assertEquals(nextMove(replay(rs).get("s")!), { kind: "finish_compensation", compensated: 2 });
  rs.push(rec({ type: "saga.compensated" }));
  assertEquals(replay(rs).get("s")!.status, "compensated");
});

Deno.test("replay: a final compensation failure needs attention until a retry", () => {
  const rs = [
    start(1),
    rec({ type: "step.started", step: 0, attempt: 1 }),
    rec({ type: "step.succeeded", step: 0, attempt: 1 }),
    rec({ type: "saga.compensating", reason: "saga timed out" }),
    rec({ type: "compensation.started", step: 0, attempt: 1 }),
    rec({
      type: "compensation.failed",
      step: 0,
      attempt: 1,
      error: { code: "down", message: "d" },
      final: true,
    }),
  ];
  let s = replay(rs).get("s")!;
  assertEquals([s.status, s.steps[0].status, nextMove(s).kind], [
    "needs_attention",
    "compensation_failed",
    "none",
  ]);
  rs.push(rec({ type: "saga.retry" }));
  s = replay(rs).get("s")!;
  assertEquals([s.status, nextMove(s)], ["compensating", { kind: "undo", step: 0 }]);
});

Deno.test("replay: sagas are independent; records for unknown sagas are ignored", () => {
  const rs = [
    start(1, "x"),
    rec({ type: "step.started", step: 0, attempt: 1 }, "ghost"),
    start(2, "y"),
    rec({ type: "saga.failed", reason: "r" }, "x"),
    rec({ type: "step.started", step: 9, attempt: 1 }, "y"),
  ];
  const m = replay(rs);
  assertEquals([...m.keys()], ["x", "y"]);
  assertEquals([m.get("x")!.status, m.get("y")!.status], ["failed", "running"]);
});

Deno.test("retry decisions and backoff with jitter", () => {
  const p = { attempts: 5, baseMs: 100, maxMs: 1000, nonRetryable: ["fatal"] };
  assertEquals(
    ["boom", "fatal", "denied", "approval_required", "invalid"].map((c) => isRetryable(p, c)),
    [true, false, false, false, false],
  );
  assertEquals([1, 2, 3, 4, 5].map((a) => backoffDelay(p, a, () => 0.999999)), [
    99,
    199,
    399,
    799,
    999,
  ]);
  assertEquals(backoffDelay(p, 3, () => 0), 0);
  assertEquals(backoffDelay(p, 3, () => 0.5), 200);
  assertEquals(idempotencyKey("s-1", 2, "undo"), "s-1:2:undo");
});

Deno.test("definition schema: defaults and rejections", () => {
  const ok = SagaDefinition.parse({
    name: "n",
    steps: [{ name: "a", action: { tool: "t" }, compensation: { tool: "u", args: { x: 1 } } }],
  });
  assertEquals(ok.steps[0].action.args, {});
  for (
    const bad of [
      { name: "n", steps: [] },
      { name: "n", steps: [{ name: "a", action: { tool: "t" } }] },
      { name: "n", steps: saga(["a"]).steps, extra: 1 },
      { ...saga(["a"], { retry: { attempts: 0, baseMs: 1, maxMs: 1 } }) },
    ]
  ) {
    assertEquals(SagaDefinition.safeParse(bad).success, false);
  }
});
