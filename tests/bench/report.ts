/** Output of `deno task bench`: the text table, the Markdown table for README, JSON lines. */
import { type BenchRow, us } from "./stats.ts";

/** The notes column of a row: agreement, ratios and targets, host costs. */
export function notes(r: BenchRow): string {
  return [
    typeof r.entries === "number" ? `${r.entries.toLocaleString("en-US")} entries` : "",
    typeof r.kb === "number"
      ? `${r.kb.toLocaleString("en-US")} KB${
        typeof r.us_per_kb === "number" ? `, ${r.us_per_kb.toFixed(1)} µs/KB` : ""
      }`
      : "",
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
    r.warden_over_floor_p99 !== undefined
      ? `warden ${(r.warden_over_floor_p50 as number).toFixed(2)}x p50, ${
        (r.warden_over_floor_p99 as number).toFixed(2)
      }x p99 of this floor (target <= ${r.floor_ratio_target}x${
        r.warden_p99_target_us !== undefined ? `, warden p99 <= ${r.warden_p99_target_us} µs` : ""
      }: ${r.meets_target ? "met" : "MISSED"})`
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
    r.host_rss_mb !== undefined && r.calls_per_agent !== undefined
      ? `${r.agents} agents x ${r.calls_per_agent} calls; latency per call; host peak RSS ${
        (r.host_rss_mb as number).toFixed(0)
      } MiB`
      : "",
    r.agent_rss_mb_p50 !== undefined
      ? `${r.agents} rogue agents at once; latency per agent (start to last exit); ${r.attacks_allowed} attacks allowed; host peak RSS ${
        (r.host_rss_mb as number).toFixed(0)
      } MiB; per agent process peak RSS p50 ${(r.agent_rss_mb_p50 as number).toFixed(0)} MiB, max ${
        (r.agent_rss_mb_max as number).toFixed(0)
      } MiB`
      : "",
    typeof r.notes === "string" ? r.notes : "", // a row's own words
  ].filter(Boolean).join("; ");
}

const HEAD = ["case", "engine", "rules", "p50 µs", "p99 µs", "p99.9 µs", "ops/s", "notes"];

function cells(r: BenchRow): string[] {
  return [
    r.name,
    r.engine,
    r.rules !== undefined ? r.rules.toLocaleString("en-US") : "",
    us(r.p50_us),
    us(r.p99_us),
    us(r.p999_us),
    Math.round(r.ops_per_s).toLocaleString("en-US"),
    notes(r),
  ];
}

/**
 * Print `rows`: one JSON object per row (`json`), a Markdown table headed by the machine and
 * the command (`markdown`, what README's Performance table is regenerated from), or aligned text.
 */
export function printRows(
  rows: BenchRow[],
  o: { json: boolean; markdown: boolean; machine: string; command: string },
): void {
  if (o.json) {
    for (const r of rows) console.log(JSON.stringify({ ...r, machine: o.machine }));
    return;
  }
  const lines = rows.map(cells);
  if (o.markdown) {
    console.log(`\`${o.command}\` on ${new Date().toISOString().slice(0, 10)}: ${o.machine}.\n`);
    const esc = (c: string) => c.replaceAll("|", "\\|");
    console.log(`| ${HEAD.join(" | ")} |`);
    console.log(`|${HEAD.map((_, i) => (i >= 2 && i <= 6 ? " ---: " : " --- ")).join("|")}|`);
    for (const l of lines) console.log(`| ${l.map(esc).join(" | ")} |`);
  } else {
    const widths = HEAD.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const fmt = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i])).join("  ");
    console.log(fmt(HEAD));
    for (const l of lines) console.log(fmt(l));
  }
  for (const r of rows) {
    if (r.first_disagreement) console.log(`first disagreement: ${r.first_disagreement}`);
  }
}
