/** Policy engine benchmarks: decision latency, throughput and compile time, beside AGT. */
import { compilePolicy } from "../../governance/mod.ts";
import { agtEngine } from "./agt.ts";
import { floorEngine } from "./floor.ts";
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
    rows.push(floorRow(size, reqs, policy, m, o));
    o.log(`policy: ${size} rules done`);
    if (o.noAgt) continue;
    const agt = agtEngine(rules);
    const { disagree, first: firstDisagreement } = agreement(reqs, policy, agt, "agt");
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

/** p99 targets of the hostile mix (µs) by rule count, and the most the engine may cost over the floor. */
const P99_TARGET_US: Record<number, number> = { 1000: 2, 10000: 5 };
const FLOOR_RATIO_TARGET = 3;

/**
 * The hand-written indexed evaluator (floor.ts) on the same hostile requests, after a check
 * that it decides every one of them as the engine does (effect and rule); the row carries the
 * engine's p50/p99 over the floor's and whether the targets are met.
 */
function floorRow(
  size: number,
  reqs: Record<string, unknown>[],
  policy: ReturnType<typeof compilePolicy>,
  m: { p50: number; p99: number; p999: number; opsPerS: number },
  o: PolicyBenchOptions,
): BenchRow {
  const floor = floorEngine(workRules(size));
  const { disagree, first } = agreement(reqs, policy, floor, "floor");
  const mask = reqs.length - 1;
  const fm = measure((i) => floor(reqs[i & mask]), o.samples, o.samples >> 2, o.overheadUs);
  const target = P99_TARGET_US[size];
  const ratioP99 = m.p99 / Math.max(fm.p99, 1e-3);
  return {
    name: "policy.evaluate hostile",
    engine: "floor (hand-written index)",
    rules: size,
    p50_us: fm.p50,
    p99_us: fm.p99,
    p999_us: fm.p999,
    ops_per_s: fm.opsPerS,
    samples: o.samples,
    agree: disagree === 0,
    disagreements: disagree,
    ...(first ? { first_disagreement: first } : {}),
    warden_over_floor_p50: m.p50 / Math.max(fm.p50, 1e-3),
    warden_over_floor_p99: ratioP99,
    floor_ratio_target: FLOOR_RATIO_TARGET,
    ...(target !== undefined ? { warden_p99_target_us: target } : {}),
    meets_target: ratioP99 <= FLOOR_RATIO_TARGET && (target === undefined || m.p99 <= target),
  };
}

/** How many of `reqs` `other` decides differently from the engine (effect or rule), and the first. */
function agreement(
  reqs: Record<string, unknown>[],
  policy: ReturnType<typeof compilePolicy>,
  other: (r: Record<string, unknown>) => { effect: string; rule: string | null },
  name: string,
): { disagree: number; first: string } {
  let disagree = 0;
  let first = "";
  for (const r of reqs) {
    const a = other(r);
    const w = policy.evaluate(r);
    if (a.effect !== w.effect || a.rule !== w.rule) {
      if (disagree++ === 0) {
        first = `${JSON.stringify(r)}: warden ${w.effect}/${w.rule}, ${name} ${a.effect}/${a.rule}`;
      }
    }
  }
  return { disagree, first };
}
