/**
 * `deno task bench [--json] [--quick] [--only policy]`: every hot path with p50/p99/p99.9 and
 * ops/s. With --json, one JSON object per case on stdout.
 */
import { runPolicyBench } from "./policy_bench.ts";
import { type BenchRow, machine, timerOverheadUs, us } from "./stats.ts";

const args = new Set(Deno.args);
const json = args.has("--json");
const quick = args.has("--quick");
const onlyIdx = Deno.args.indexOf("--only");
const only = onlyIdx >= 0 ? Deno.args[onlyIdx + 1] : undefined;
const log = (line: string) => {
  if (!json) console.error(`  … ${line}`);
};

const overheadUs = timerOverheadUs();
const rows: BenchRow[] = [];
if (!json) {
  console.log(`machine: ${machine()}`);
  console.log(`timer overhead subtracted: ${us(overheadUs)} µs per sample`);
}
if (!only || only === "policy") {
  rows.push(...runPolicyBench({
    sizes: [10, 1000, 10000],
    samples: quick ? 20000 : 200000,
    noAgt: args.has("--no-agt"),
    overheadUs,
    log,
  }));
}

if (json) {
  for (const r of rows) console.log(JSON.stringify({ ...r, machine: machine() }));
} else {
  const head = ["case", "engine", "rules", "p50 µs", "p99 µs", "p99.9 µs", "ops/s", "notes"];
  const lines = rows.map((r) => [
    r.name,
    r.engine,
    String(r.rules ?? ""),
    us(r.p50_us),
    us(r.p99_us),
    us(r.p999_us),
    Math.round(r.ops_per_s).toLocaleString("en-US"),
    [
      r.compile_ms !== undefined ? `compile ${(r.compile_ms as number).toFixed(1)} ms` : "",
      r.agree !== undefined
        ? (r.agree ? "agrees on every decision" : `DISAGREES x${r.disagreements}`)
        : "",
      r.ratio_ops !== undefined ? `warden ${(r.ratio_ops as number).toFixed(0)}x ops/s` : "",
    ].filter(Boolean).join("; "),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i])).join("  ");
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
  for (const r of rows) {
    if (r.first_disagreement) console.log(`first disagreement: ${r.first_disagreement}`);
  }
}
