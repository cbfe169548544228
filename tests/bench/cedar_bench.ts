/** Cedar beside YAML on equivalent policies: the same rules written in both languages. */
import { compilePolicy } from "../../governance/mod.ts";
import { cedarEngine, loadCedarEngine } from "../../runtime/policy/cedar_engine.ts";
import { type BenchRow, measure } from "./stats.ts";

const ACTIONS = ["tool.call", "env.get", "run", "sys", "message.send", "memory.read"];

/** `size` rules spread over six actions; every fifth one is a deny, conditioned on ring. */
function equivalent(size: number): { yaml: string; cedar: string } {
  const yaml = ["apiVersion: warden/v1", "kind: Policy", "name: bench", "default: deny", "rules:"];
  const cedar: string[] = [];
  for (let i = 0; i < size; i++) {
    const action = ACTIONS[i % ACTIONS.length];
    const deny = i % 5 === 0;
    yaml.push(
      `  - { id: r${i}, effect: ${deny ? "deny" : "allow"}, action: ${action}, resource: t${i}${
        deny ? ", rings: [3]" : ""
      } }`,
    );
    cedar.push(
      `@id("r${i}") ${deny ? "forbid" : "permit"} (principal, action == Action::"${action}", ` +
        `resource == Resource::"t${i}")${deny ? " when { principal.ring == 3 }" : ""};`,
    );
  }
  return { yaml: yaml.join("\n") + "\n", cedar: cedar.join("\n") + "\n" };
}

function requests(size: number, n: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const r = (i * 7919) % (size + 3); // a few misses beyond the last rule
    out.push({
      agent: { id: `a${i % 4}`, ring: i % 4, trust: 500 },
      action: ACTIONS[(r < size ? r : i) % ACTIONS.length],
      resource: `t${r}`,
    });
  }
  return out;
}

/** Options for the Cedar comparison. */
export interface CedarBenchOptions {
  sizes: number[];
  samples: number;
  overheadUs: number;
  log: (line: string) => void;
}

export function runCedarBench(o: CedarBenchOptions): BenchRow[] {
  const rows: BenchRow[] = [];
  loadCedarEngine(); // instantiate the wasm before timing compiles, as an importing host would
  for (const size of o.sizes) {
    const { yaml, cedar } = equivalent(size);
    let t0 = performance.now();
    const y = compilePolicy(yaml, { path: "bench.yaml" });
    const yCompile = performance.now() - t0;
    t0 = performance.now();
    const c = compilePolicy(cedar, { path: "bench.cedar", cedarEngine });
    const cCompile = performance.now() - t0;
    const reqs = requests(size, 1024);
    const mask = reqs.length - 1;
    let disagree = 0;
    for (const r of reqs) {
      const a = y.evaluate(r), b = c.evaluate(r);
      if (a.effect !== b.effect || a.rule !== b.rule) disagree++;
    }
    const samples = Math.max(2000, Math.floor(o.samples / 10));
    for (
      const [engine, p, ms] of [["warden yaml", y, yCompile], [
        "cedar-wasm@4.13.0",
        c,
        cCompile,
      ]] as const
    ) {
      const m = measure((i) => p.evaluate(reqs[i & mask]), samples, samples >> 2, o.overheadUs);
      rows.push({
        name: "policy.evaluate yaml-vs-cedar",
        engine,
        rules: size,
        p50_us: m.p50,
        p99_us: m.p99,
        p999_us: m.p999,
        ops_per_s: m.opsPerS,
        samples,
        compile_ms: ms,
        agree: disagree === 0,
        disagreements: disagree,
      });
    }
    o.log(`cedar: ${size} policies done`);
  }
  return rows;
}
