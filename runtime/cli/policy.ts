/**
 * `deno task policy check <file|dir>...`
 * `deno task policy eval <policy>... <request.json|->`
 * `deno task policy explain <policy> <request.json|->`
 */
import { ActionRequest, explain, type ExplainNode } from "../../governance/mod.ts";
import { loadPolicy } from "../policy/loader.ts";
import { type CliSpec, command, FileError, fsProblem, jsonProblem, runCli } from "./runner.ts";

const NOTE = "(a policy is a .yaml/.yml/.cedar file or a directory of them)";

async function readRequest(arg: string): Promise<ActionRequest> {
  let text: string;
  try {
    text = arg === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(arg);
  } catch (e) {
    throw new FileError(arg, `cannot read request: ${fsProblem(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const p = jsonProblem(text, e);
    throw new FileError(arg, `request is not valid JSON: ${p.problem}`, p.where);
  }
  const r = ActionRequest.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    const where = first.path.length ? first.path.join(".") : "request";
    throw new FileError(arg, `invalid ActionRequest: ${where}: ${first.message}`);
  }
  return r.data;
}

function renderNode(n: ExplainNode, indent: string, out: string[]): void {
  const mark = n.result === "true" ? "✓" : n.result === "false" ? "✗" : "?";
  out.push(`${indent}${mark} ${n.text}${n.why ? `  (${n.why})` : ""}`);
  for (const c of n.children ?? []) renderNode(c, indent + "  ", out);
}

function check({ positionals }: { positionals: string[] }): number {
  const p = loadPolicy(positionals);
  const cedar = p.cedar.reduce((n, c) => n + c.ids.length, 0);
  console.log(
    `ok: ${p.rules.length} rules${
      cedar ? ` and ${cedar} Cedar policies` : ""
    } in ${p.sources.length} file(s); default ${p.defaultEffect}`,
  );
  return 0;
}

async function evaluate({ positionals: pos }: { positionals: string[] }): Promise<number> {
  const policy = loadPolicy(pos.slice(0, -1));
  const req = await readRequest(pos[pos.length - 1]);
  console.log(JSON.stringify(policy.evaluate(req)));
  return 0;
}

async function explainCmd(
  { values, positionals: pos }: { values: { json?: boolean }; positionals: string[] },
): Promise<number> {
  const policy = loadPolicy(pos.slice(0, -1));
  const req = await readRequest(pos[pos.length - 1]);
  const ex = explain(policy, req);
  if (values.json) {
    console.log(JSON.stringify(ex, null, 2));
    return 0;
  }
  const out = [
    `request: ${ex.request.action} ${ex.request.resource ?? "(resource could not be normalized)"}`,
    `decision: ${ex.decision.effect}${
      ex.decision.rule ? ` by ${ex.decision.rule}` : ""
    } — ${ex.decision.reason}`,
    `rules for ${ex.request.action}: ${ex.rules.length}`,
  ];
  for (const r of ex.rules) {
    out.push(`  ${r.matched ? "MATCH" : "no   "} ${r.effect.padEnd(16)} ${r.id}  (${r.location})`);
    if (r.resource) renderNode(r.resource, "      ", out);
    if (r.condition) renderNode(r.condition, "      ", out);
  }
  console.log(out.join("\n"));
  return 0;
}

const MANY = 1_000_000;
const request = { args: (p: string) => ["policies/agents.yaml", p] };

/** `deno task policy`. */
export const spec: CliSpec = {
  name: "policy",
  notes: NOTE,
  subcommands: {
    check: command({
      args: "<file|dir>...",
      positionals: [1, MANY],
      files: [{ args: (p) => [p], ext: ".yaml" }],
      main: check,
    }),
    eval: command({
      args: "<policy>... <request.json|->",
      positionals: [2, MANY],
      files: [{ args: (p) => [p, p], ext: ".yaml" }, request],
      main: evaluate,
    }),
    explain: command({
      args: "<policy>... <request.json|-> [--json]",
      options: { json: { type: "boolean" } },
      positionals: [2, MANY],
      files: [{ args: (p) => [p, p], ext: ".yaml" }, request],
      main: explainCmd,
    }),
  },
};

if (import.meta.main) await runCli(spec);
