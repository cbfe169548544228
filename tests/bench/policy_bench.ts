/** Policy engine benchmarks: decision latency, throughput and compile time, beside AGT. */
import { compilePolicy } from "../../governance/mod.ts";
import { agtEngine } from "./agt.ts";
import { type BenchRow, measure } from "./stats.ts";
import { wardenYaml, workRequests, workRules } from "./workload.ts";

export interface PolicyBenchOptions {
  sizes: number[];
  samples: number;
  /** Skip the @microsoft/agent-governance-sdk comparison. */
  noAgt?: boolean;
  overheadUs: number;
  log: (line: string) => void;
}

export function runPolicyBench(o: PolicyBenchOptions): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const size of o.sizes) {
    const rules = workRules(size);
    const text = wardenYaml(rules);
    // Compile time: median of a few compiles (YAML parse + validation + index).
    const compileMs: number[] = [];
    let policy = compilePolicy(text);
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      policy = compilePolicy(text);
      compileMs.push(performance.now() - t0);
    }
    compileMs.sort((a, b) => a - b);
    const reqs = workRequests(rules, 4096);
    const canonical = workRequests(rules, 4096, false);
    const mask = reqs.length - 1;
    const row = (name: string, list: Record<string, unknown>[], extra: Record<string, unknown>) => {
      const m = measure(
        (i) => policy.evaluate(list[i & mask]),
        o.samples,
        o.samples >> 2,
        o.overheadUs,
      );
      const allow = list.filter((r) => policy.evaluate(r).effect === "allow").length;
      rows.push({
        name,
        engine: "warden",
        rules: size,
        p50_us: m.p50,
        p99_us: m.p99,
        p999_us: m.p999,
        ops_per_s: m.opsPerS,
        samples: o.samples,
        allow_ratio: allow / list.length,
        ...extra,
      });
      return m;
    };
    row("policy.evaluate canonical", canonical, {});
    const m = row("policy.evaluate hostile", reqs, { compile_ms: compileMs[2] });
    o.log(`policy: ${size} rules done`);
    if (o.noAgt) continue;
    const agt = agtEngine(rules);
    let disagree = 0;
    let firstDisagreement = "";
    for (const r of reqs) {
      const a = agt(r);
      const w = policy.evaluate(r);
      if (a.effect !== w.effect || a.rule !== w.rule) {
        if (disagree++ === 0) {
          firstDisagreement = `${
            JSON.stringify(r)
          }: warden ${w.effect}/${w.rule}, agt ${a.effect}/${a.rule}`;
        }
      }
    }
    // AGT re-parses every condition on every call (~1 µs per rule): fewer samples at scale.
    const agtSamples = Math.max(200, Math.min(o.samples, Math.floor(2e7 / size / 10)));
    const am = measure((i) => agt(reqs[i & mask]), agtSamples, agtSamples >> 3, o.overheadUs);
    rows.push({
      name: "policy.evaluate hostile",
      engine: "agent-governance-sdk@4.0.0",
      rules: size,
      p50_us: am.p50,
      p99_us: am.p99,
      p999_us: am.p999,
      ops_per_s: am.opsPerS,
      samples: agtSamples,
      agree: disagree === 0,
      disagreements: disagree,
      ...(firstDisagreement ? { first_disagreement: firstDisagreement } : {}),
      ratio_p50: am.p50 / m.p50,
      ratio_ops: m.opsPerS / am.opsPerS,
    });
    o.log(`policy: ${size} rules vs AGT done`);
  }
  return rows;
}
