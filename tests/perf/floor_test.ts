// The policy benchmark's floor (tests/bench/floor.ts) decides every request of the bench's
// workload as the engine does, so the ratio the bench prints compares equal work.
import { compilePolicy } from "../../governance/mod.ts";
import { floorEngine } from "../bench/floor.ts";
import { wardenYaml, workRequests, workRules } from "../bench/workload.ts";
import { assert, assertEquals } from "../policy/asserts.ts";

for (const size of [4, 10, 1000]) {
  Deno.test(`floor: agrees with the engine on the hostile and canonical mixes (${size} rules)`, () => {
    const rules = workRules(size);
    const policy = compilePolicy(wardenYaml(rules));
    const floor = floorEngine(rules);
    let allow = 0;
    for (const hostile of [true, false]) {
      for (const r of workRequests(rules, 4096, hostile)) {
        const w = policy.evaluate(r);
        const f = floor(r);
        assertEquals({ effect: f.effect, rule: f.rule }, { effect: w.effect, rule: w.rule });
        if (w.effect === "allow") allow++;
      }
    }
    assert(allow > 0 && allow < 8192, `a mix of outcomes (${allow} allowed)`);
  });
}
