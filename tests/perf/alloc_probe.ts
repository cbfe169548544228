// Run by alloc_test.ts under --v8-flags=--trace-gc: evaluate some actions' canonical requests of
// the bench workload in a loop, between two marker lines on stderr (a scavenge between them
// means the decisions allocated).
import { compilePolicy } from "../../governance/mod.ts";
import { wardenYaml, workRequests, workRules } from "../bench/workload.ts";

const [actions, count] = [Deno.args[0].split(","), Number(Deno.args[1] ?? 1_000_000)];
const rules = workRules(1000);
const policy = compilePolicy(wardenYaml(rules));
const reqs = workRequests(rules, 4096, false).filter((r) => actions.includes(r.action as string));
let allow = 0;
for (let i = 0; i < 200_000; i++) {
  if (policy.evaluate(reqs[i % reqs.length]).effect === "allow") allow++;
}
console.error("probe: loop start");
for (let i = 0; i < count; i++) {
  if (policy.evaluate(reqs[i % reqs.length]).effect === "allow") allow++;
}
console.error("probe: loop end");
console.log(JSON.stringify({ requests: reqs.length, allow }));
