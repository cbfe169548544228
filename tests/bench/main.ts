/**
 * `deno task bench [--json] [--quick] [--no-agt] [--only policy|cedar|host|mcp|audit|memory]`: every hot path with p50/p99/p99.9
 * and ops/s. With --json, one JSON object per case on stdout.
 */
import { runAuditBench } from "./audit_bench.ts";
import { runCedarBench } from "./cedar_bench.ts";
import { runHostBench } from "./host_bench.ts";
import { runMcpBench } from "./mcp_bench.ts";
import { runMemoryBench } from "./memory_bench.ts";
import { runPolicyBench } from "./policy_bench.ts";
import { type BenchRow, machine, timerOverheadUs, us } from "./stats.ts";

import { argsOrExit } from "../../runtime/cli/runner.ts";
import { benchSpec, onlyGroup } from "./cli.ts";

// --help and bad flags exit before any benchmark runs (a bad --only names the valid groups).
const { values } = await argsOrExit(benchSpec, (c) => onlyGroup(c.values.only as string));
const only = values.only as string | undefined;
const args = new Set(Deno.args);
const json = args.has("--json");
const quick = args.has("--quick");
const log = (line: string) => {
  if (!json) console.error(`  … ${line}`);
};

const overheadUs = timerOverheadUs();
const rows: BenchRow[] = [];
if (!json) {
  console.log(`machine: ${machine()}`);
  if (!only || only === "policy") {
    console.log(`timer overhead subtracted: ${us(overheadUs)} µs per sample`);
  }
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
if (!only || only === "policy" || only === "cedar") {
  rows.push(...runCedarBench({
    sizes: [10, 100, 1000],
    samples: quick ? 20000 : 200000,
    overheadUs,
    log,
  }));
}
if (!only || only === "host") {
  rows.push(...await runHostBench({ quick, log }));
}
if (!only || only === "mcp") {
  rows.push(...await runMcpBench({ quick, log }));
}
if (!only || only === "audit") {
  rows.push(...await runAuditBench({ quick, log }));
}
if (!only || only === "memory") rows.push(...await runMemoryBench({ quick, log }));

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
      r.ratio_vs_allow_all !== undefined
        ? `${(r.ratio_vs_allow_all as number).toFixed(2)}x allow-all p50 (target <= ${r
          .target_ratio as number}x: ${r.meets_target ? "met" : "MISSED"}); ${
          (r.ratio_ops_vs_allow_all as number).toFixed(2)
        }x mean time`
        : "",
      r.ratio_vs_direct !== undefined
        ? `${(r.ratio_vs_direct as number).toFixed(2)}x the direct p50`
        : "",
      r.broker_checks !== undefined ? `${r.broker_checks} broker checks` : "",
      r.same_argv === false ? "ARMS RAN DIFFERENT ARGV" : "",
      r.kernel_sandbox ? "warden arm also under the kernel sandbox" : "",
      r.host_cpu_us_per_check !== undefined
        ? `host CPU ${(r.host_cpu_us_per_check as number).toFixed(0)} µs/check`
        : "",
      r.host_cpu_us_per_call !== undefined
        ? `host CPU ${(r.host_cpu_us_per_call as number).toFixed(0)} µs/call`
        : "",
      r.start_return_ms_p50 !== undefined
        ? `start() returns in ${(r.start_return_ms_p50 as number).toFixed(1)} ms`
        : "",
      r.host_rss_mb !== undefined
        ? `${r.agents} agents x ${r.calls_per_agent} calls; latency per call; host peak RSS ${
          (r.host_rss_mb as number).toFixed(0)
        } MiB`
        : "",
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
