/**
 * `deno task bench [--json] [--markdown] [--quick] [--no-agt] [--only policy|cedar|host|mcp|audit|memory|fleet]`:
 * every hot path with p50/p99/p99.9 and ops/s. With --json, one JSON object per case on stdout;
 * with --markdown, the table README's Performance section is regenerated from.
 */
import { runAuditBench } from "./audit_bench.ts";
import { runCedarBench } from "./cedar_bench.ts";
import { runEgressBench } from "./egress_bench.ts";
import { runFleetBench } from "./fleet_bench.ts";
import { runFleetSharedBench } from "./fleet_shared_bench.ts";
import { runHostBench } from "./host_bench.ts";
import { runMcpBench } from "./mcp_bench.ts";
import { runMemoryBench, runMemoryFleetBench } from "./memory_bench.ts";
import { runOutputsBench } from "./outputs_bench.ts";
import { runPolicyBench } from "./policy_bench.ts";
import { runRogueBench } from "./rogue_bench.ts";
import { printRows } from "./report.ts";
import { type BenchRow, machine, timerOverheadUs, us } from "./stats.ts";

import { argsOrExit } from "../../runtime/cli/runner.ts";
import { benchSpec, onlyGroup } from "./cli.ts";

// --help and bad flags exit before any benchmark runs (a bad --only names the valid groups).
const { values } = await argsOrExit(benchSpec, (c) => onlyGroup(c.values.only as string));
const only = values.only as string | undefined;
const args = new Set(Deno.args);
const json = args.has("--json");
const quick = args.has("--quick");
const markdown = args.has("--markdown");
const machineLine = machine(); // once, before the load of the benchmarks themselves
const log = (line: string) => {
  if (!json) console.error(`  … ${line}`);
};

const overheadUs = timerOverheadUs();
const rows: BenchRow[] = [];
if (!json) {
  console.log(`machine: ${machineLine}`);
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
  rows.push(...await runRogueBench({ quick, log }));
  rows.push(...await runEgressBench({ quick, log }));
}
if (!only || only === "mcp") {
  rows.push(...await runMcpBench({ quick, log }));
}
if (!only || only === "audit") {
  rows.push(...await runAuditBench({ quick, log }));
}
if (!only || only === "memory") rows.push(...await runMemoryBench({ quick, log }));
if (!only || only === "policy") rows.push(...runOutputsBench({ quick, log }));
// Fleet rows start a PostgreSQL cluster and real hosts: only with --only fleet.
if (only === "fleet") rows.push(...await runFleetBench({ quick, log }));
if (only === "fleet") rows.push(...await runFleetSharedBench({ quick, log }));
if (only === "fleet") rows.push(...await runMemoryFleetBench({ quick, log }));

printRows(rows, {
  json,
  markdown,
  machine: machineLine,
  command: `deno task bench ${Deno.args.join(" ")}`.trim(),
});
// The saga takeover rows leave in-process "killed" hosts behind, their hung steps waiting on
// deadlines minutes away (that is what a dead host looks like): end the run once it is printed.
Deno.exit(0);
