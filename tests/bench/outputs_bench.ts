/**
 * Output-rule benchmarks: the data-loss scan of one output with every built-in (`builtin: all`)
 * and one custom pattern, on clean prose, on prose with credentials in it (redacted), and on a
 * nested JSON tool result; and the check under a policy without `outputs:` (a no-op). Rows
 * `outputs.scan` with `kb` (the output's size) and `us_per_kb` (p50 / size).
 */
import { OutputRules, OutputsSection } from "../../governance/outputs/mod.ts";
import { type BenchRow, measure } from "./stats.ts";

const RULES = new OutputRules([OutputsSection.parse({
  dlp: [
    { id: "no-credentials", builtin: "all", effect: "redact" },
    { id: "codename", pattern: "project-(?:zeus|hera)", effect: "deny", on: ["http.request"] },
  ],
})]);
const NONE = new OutputRules();

const WORDS = "the quick brown fox jumps over the lazy dog while the report is written ".split(" ");

function prose(kb: number, secrets = 0): string {
  let s = "";
  for (let i = 0; s.length < kb * 1024; i++) s += WORDS[i % WORDS.length] + (i % 17 ? " " : ".\n");
  const token = "ghp_" + "Bench0Token1".repeat(3);
  for (let i = 0; i < secrets; i++) {
    const at = Math.floor((s.length * (i + 0.5)) / secrets);
    s = `${s.slice(0, at)} ${token} ${s.slice(at)}`;
  }
  return s;
}

function nested(kb: number): unknown {
  const rows = [];
  for (let i = 0; JSON.stringify(rows).length < kb * 1024; i++) {
    rows.push({
      id: i,
      name: `item ${i}`,
      tags: ["a", "b"],
      meta: { owner: "ci", note: WORDS[i % 9] },
    });
  }
  return { rows };
}

/** The output-rule rows. */
export function runOutputsBench(o: { quick: boolean; log: (l: string) => void }): BenchRow[] {
  const rows: BenchRow[] = [];
  const cases: [string, string, unknown, number][] = [
    ["outputs.scan", "clean prose", prose(1), 1],
    ["outputs.scan", "clean prose", prose(64), 64],
    ["outputs.scan", "prose, 10 tokens redacted", prose(64, 10), 64],
    ["outputs.scan", "nested JSON result", nested(64), 64],
    ["outputs.scan", "clean prose", prose(1024), 1024],
    ["outputs.idle", "no outputs: rules", prose(64), 64],
  ];
  for (const [name, engine, value, kb] of cases) {
    o.log(`${name} ${engine} ${kb} KB`);
    const rules = name === "outputs.idle" ? NONE : RULES;
    const samples = Math.max(5, Math.round((o.quick ? 2000 : 20000) / kb));
    const m = measure(() => rules.check("emit", value).effect, samples, Math.min(samples, 50), 0);
    rows.push({
      name,
      engine,
      kb,
      p50_us: m.p50,
      p99_us: m.p99,
      p999_us: m.p999,
      ops_per_s: m.opsPerS,
      samples,
      us_per_kb: m.p50 / kb,
    });
  }
  return rows;
}
