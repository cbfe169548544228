/** A denied action never happens: the host does not call the environment's `step` for it. */
import { assertEquals } from "../policy/asserts.ts";
import { type Environment, GovernedEnv } from "../../runtime/rl/env.ts";
import { type ReportState, reportTask } from "../../examples/rl/env.ts";
import { LEARNER as agent, rlGovernor as governor } from "./helpers.ts";

/** The report task, with a `step` whose every call is an effect in the world. */
function effectful(effects: string[], price = true): Environment<ReportState> {
  return {
    actions: reportTask.actions,
    reset: reportTask.reset,
    step(s, action) {
      effects.push(action);
      return reportTask.step(s, action);
    },
    ...(price ? { price: reportTask.price } : {}),
  };
}

for (const guarded of [true, false]) {
  Deno.test(`rl env (${guarded ? "guarded" : "unguarded"}): a denied action leaves no effect`, () => {
    const effects: string[] = [];
    const env = new GovernedEnv(effectful(effects), governor(), {
      maxSteps: 50,
      maxWallMs: 60_000,
    }, guarded);
    env.reset();
    let denied = 0;
    for (let i = 0; i < 84; i++) {
      const r = env.step(agent, i % 3 === 0 ? "research" : "copy_answer");
      if (r.denied) denied++;
      if (r.done) env.reset();
    }
    assertEquals(denied, 56);
    assertEquals(effects.filter((a) => a === "copy_answer"), []);
    assertEquals(effects.length, 28);
    // Priced without being performed: the reward function's payment is still flagged.
    const paid = env.steps.filter((s) => s.effect === "deny");
    assertEquals(paid.every((s) => s.rawReward === 10 && s.flags.length === 1), true);
  });
}

Deno.test("rl env: an action held for approval is not performed either", () => {
  const effects: string[] = [];
  const gov = governor(`apiVersion: warden/v1
kind: Policy
name: held
default: allow
rules:
  - id: ask-first
    effect: require_approval
    action: tool.call
    resource: write
    reason: a human checks the report
`);
  const env = new GovernedEnv(effectful(effects), gov, { maxSteps: 50, maxWallMs: 60_000 });
  env.reset();
  for (const a of ["research", "research", "write", "write"]) env.step(agent, a);
  assertEquals(effects, ["research", "research"]);
  assertEquals(env.steps.map((s) => s.effect), [
    "allow",
    "allow",
    "require_approval",
    "require_approval",
  ]);
});

Deno.test("rl env: without a price, a denied step is not priced and not performed", () => {
  const effects: string[] = [];
  for (const guarded of [true, false]) {
    const env = new GovernedEnv(effectful(effects, false), governor(), {
      maxSteps: 50,
      maxWallMs: 60_000,
    }, guarded);
    env.reset();
    const r = env.step(agent, "copy_answer");
    assertEquals([r.denied, r.reward, r.done], [true, guarded ? -20 : 0, false]);
    assertEquals([env.steps[0].rawReward, env.steps[0].flags], [null, []]);
  }
  assertEquals(effects, []);
});

Deno.test("rl env: a price that throws is a failed step with no effect", () => {
  const effects: string[] = [];
  const env = new GovernedEnv(
    {
      ...effectful(effects),
      price: () => {
        throw new Error("boom");
      },
    },
    governor(),
    { maxSteps: 50, maxWallMs: 60_000 },
  );
  env.reset();
  const r = env.step(agent, "copy_answer");
  assertEquals([r.denied, r.reward], [true, -20]);
  assertEquals([env.steps[0].rawReward, effects], [null, []]);
});
