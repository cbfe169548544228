import { assertEquals } from "../policy/asserts.ts";
import { DEFAULT_PENALTIES, RewardGuard } from "../../governance/rl/mod.ts";
import { GovernedEnv } from "../../runtime/rl/env.ts";
import { reportTask } from "../../examples/rl/env.ts";
import { LEARNER as agent, rlGovernor } from "./helpers.ts";

Deno.test("guards: penalties by severity, termination on critical, flags for paid denials", () => {
  const g = new RewardGuard();
  assertEquals(g.step(3, { effect: "allow", rule: "ok" }), {
    reward: 3,
    violation: false,
    terminate: false,
    flags: [],
  });
  for (const sev of ["low", "medium", "high"] as const) {
    const s = g.step(0, { effect: "deny", rule: "r", severity: sev });
    assertEquals([s.reward, s.violation, s.terminate], [-DEFAULT_PENALTIES[sev], true, false]);
  }
  const crit = g.step(10, { effect: "deny", rule: "no-rm", severity: "critical" });
  assertEquals([crit.reward, crit.terminate, crit.flags], [-100, true, [
    "reward 10 paid for an action denied by no-rm",
  ]]);
  assertEquals(g.step(0, { effect: "deny", rule: null }).reward, -DEFAULT_PENALTIES.medium);
});

Deno.test("guards: no episode with a violation scores above the best compliant episode", () => {
  const g = new RewardGuard();
  assertEquals(g.endEpisode(50, 1), 0); // no compliant episode yet: capped at 0
  assertEquals(g.endEpisode(8, 0), 8);
  assertEquals(g.endEpisode(200, 3), 8);
  assertEquals(g.endEpisode(-4, 2), -4);
  assertEquals(g.endEpisode(9, 0), 9);
  assertEquals(g.endEpisode(100, 1), 9);
});

Deno.test("governed env: denied actions do not happen, every step is recorded, budgets end episodes, export filters", () => {
  const gov = rlGovernor();
  const env = new GovernedEnv(reportTask, gov, { maxSteps: 3, maxWallMs: 60_000 });
  env.reset();
  const s1 = env.step(agent, "copy_answer");
  assertEquals([s1.denied, s1.done, s1.reward, (s1.state as { done: boolean }).done], [
    true,
    false,
    -20,
    false,
  ]);
  env.step(agent, "research");
  const s3 = env.step(agent, "research");
  assertEquals([s3.done, s3.reason], [true, "step budget of 3 reached"]);
  env.reset();
  for (const a of ["research", "research", "write"]) env.step(agent, a);
  assertEquals(env.episodes.map((e) => [e.violations, e.kept]), [[1, -22], [0, 8]]);
  const clean = env.export(true).trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(clean.map((s) => s.episode), [2, 2, 2]);
  assertEquals(env.export().trim().split("\n").length, 6);
  const audited = gov.audit.recent.filter((e) => e.action === "tool.call").length;
  assertEquals(audited, 6);
});

Deno.test("guards: an unpriced denied step (raw null) is penalized, never flagged", () => {
  const g = new RewardGuard();
  assertEquals(g.step(null, { effect: "deny", rule: "r", severity: "high" }), {
    reward: -DEFAULT_PENALTIES.high,
    violation: true,
    terminate: false,
    flags: [],
  });
  let threw = false;
  try {
    g.step(null, { effect: "allow", rule: "ok" });
  } catch {
    threw = true;
  }
  assertEquals(threw, true);
});
