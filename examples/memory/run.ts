/**
 * Memory poisoning, stopped: a new (low-trust) agent stores a poisoned note and a benign one
 * from a web page in the team's shared memory; both are quarantined (examples/memory/policy.yaml).
 * A trusted reader receives neither. The operator releases the benign one with
 * `deno task memory release ID`, and the reader then sees it, with its provenance; the poisoned
 * note never reaches it. Last, a reporter pastes its deploy token into its report: the output
 * rules redact it before the output leaves the host (audited as output.check, by hash).
 * Run: deno run -A examples/memory/run.ts
 */
import { join } from "node:path";
import { AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { runCliCode } from "../../runtime/cli/runner.ts";
import { spec as memoryCli } from "../../runtime/cli/memory.ts";

const HERE = new URL(".", import.meta.url).pathname;

/** What one run of the reader received. */
export interface ReaderView {
  listed: { key: string; value: unknown; provenance: Record<string, unknown> }[];
  payment: unknown;
  found: string[];
}

/** What the example observed. */
export interface MemoryExample {
  writes: { poisoned: { quarantined: boolean }; benign: { quarantined: boolean } };
  before: ReaderView;
  after: ReaderView;
  /** The operator's `deno task memory list --quarantined` before the release. */
  quarantined: string[];
  /** The reporter's output as it left the host, and the audited output checks. */
  report: { report: string[]; debug: string };
  checks: { rule: string | null; outcome: unknown; findings: unknown }[];
}

/** The (fake) token the reporter is given and leaks. */
export const DEPLOY_TOKEN = "ghp_" + "ExampleDeployToken0123456789abcdefghij".slice(0, 36);

async function runAgent(
  host: AgentHost,
  file: string,
  outputs: unknown[],
  env?: Record<string, string>,
): Promise<unknown> {
  const from = outputs.length;
  const h = await host.start({ module: join(HERE, file), stdio: "null", timeoutMs: 60_000, env });
  const exit = await h.exited;
  if (exit.code !== 0) throw new Error(`${file} exited ${exit.code} (${exit.killed ?? ""})`);
  const out = outputs.slice(from);
  if (out.length !== 1) throw new Error(`${file} emitted ${out.length} outputs`);
  return out[0];
}

/** Run the example in `stateDir` (the host's home: memory.db lives there). */
export async function memoryExample(
  stateDir: string,
  log: (line: string) => void = () => {},
): Promise<MemoryExample> {
  const outputs: unknown[] = [];
  const host = new AgentHost({
    policy: loadPolicy([join(HERE, "policy.yaml")], { builtin: true }),
    rings: loadRings(),
    stateDir,
    onEvent: (e) => {
      if (e.type === "output") outputs.push(e.output);
    },
  });
  try {
    const writes = await runAgent(host, "writer.ts", outputs) as MemoryExample["writes"];
    log(`writer: ${JSON.stringify(writes)}`);
    const before = await runAgent(host, "reader.ts", outputs) as ReaderView;
    log(`reader before release: ${JSON.stringify(before)}`);
    const quarantined = await cli(["list", "--quarantined", "--state", stateDir]);
    log(`operator: deno task memory list --quarantined\n${quarantined.join("\n")}`);
    const standup = quarantined.find((l) => l.includes("team-notes/standup"));
    if (!standup) throw new Error("the benign note is not in quarantine");
    const id = standup.trim().split(/\s+/)[0];
    log(
      `operator: deno task memory release ${id}\n${
        (await cli(["release", id, "--state", stateDir])).join("\n")
      }`,
    );
    const after = await runAgent(host, "reader.ts", outputs) as ReaderView;
    log(`reader after release: ${JSON.stringify(after)}`);
    const report = await runAgent(host, "reporter.ts", outputs, {
      DEPLOY_TOKEN,
    }) as MemoryExample["report"];
    log(`reporter's output, as it left the host: ${JSON.stringify(report)}`);
    const checks = host.audit.recent.filter((e) => e.action === "output.check").map((e) => {
      const x = e as unknown as MemoryExample["checks"][number];
      return { rule: x.rule, outcome: x.outcome, findings: x.findings };
    });
    log(`audited: ${JSON.stringify(checks)}`);
    return { writes, before, after, quarantined, report, checks };
  } finally {
    await host.close();
  }
}

/** Run `deno task memory …` in this process; its stdout lines. */
async function cli(args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  let code: number;
  try {
    code = await runCliCode(memoryCli, args);
  } finally {
    console.log = log;
  }
  if (code !== 0) throw new Error(`deno task memory ${args.join(" ")}: exit ${code}`);
  return lines;
}

if (import.meta.main) {
  const dir = await Deno.makeTempDir({ prefix: "warden-memory-example-" });
  try {
    await memoryExample(dir, (l) => console.log(l));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
