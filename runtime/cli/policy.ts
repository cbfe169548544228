/**
 * `deno task policy check <file|dir>...`
 * `deno task policy eval <policy>... <request.json|->`
 * `deno task policy explain <policy> <request.json|->`
 */
import {
  ActionRequest,
  explain,
  type ExplainNode,
  formatProblem,
  PolicyError,
} from "../../governance/mod.ts";
import { loadPolicy } from "../policy/loader.ts";

const USAGE = `usage:
  deno task policy check <file|dir>...
  deno task policy eval <policy>... <request.json|->
  deno task policy explain <policy>... <request.json|-> [--json]
  (a policy is a .yaml/.yml/.cedar file or a directory of them)`;

class UsageError extends Error {}

async function readRequest(arg: string): Promise<ActionRequest> {
  let text: string;
  try {
    text = arg === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(arg);
  } catch (e) {
    throw new UsageError(`${arg}: cannot read request: ${e instanceof Error ? e.message : e}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      `${arg}: request is not valid JSON: ${e instanceof Error ? e.message : e}`,
    );
  }
  const r = ActionRequest.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    const where = first.path.length ? first.path.join(".") : "request";
    throw new UsageError(`${arg}: invalid ActionRequest: ${where}: ${first.message}`);
  }
  return r.data;
}

function renderNode(n: ExplainNode, indent: string, out: string[]): void {
  const mark = n.result === "true" ? "✓" : n.result === "false" ? "✗" : "?";
  out.push(`${indent}${mark} ${n.text}${n.why ? `  (${n.why})` : ""}`);
  for (const c of n.children ?? []) renderNode(c, indent + "  ", out);
}

async function main(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  const json = rest.includes("--json");
  const pos = rest.filter((a) => a !== "--json");
  if (cmd === "check") {
    if (pos.length === 0) throw new UsageError(USAGE);
    const p = loadPolicy(pos);
    const cedar = p.cedar.reduce((n, c) => n + c.ids.length, 0);
    console.log(
      `ok: ${p.rules.length} rules${
        cedar ? ` and ${cedar} Cedar policies` : ""
      } in ${p.sources.length} file(s); default ${p.defaultEffect}`,
    );
    return 0;
  }
  if (cmd === "eval" || cmd === "explain") {
    if (pos.length < 2) throw new UsageError(USAGE);
    const policy = loadPolicy(pos.slice(0, -1));
    const req = await readRequest(pos[pos.length - 1]);
    if (cmd === "eval") {
      console.log(JSON.stringify(policy.evaluate(req)));
      return 0;
    }
    const ex = explain(policy, req);
    if (json) {
      console.log(JSON.stringify(ex, null, 2));
      return 0;
    }
    const out = [
      `request: ${ex.request.action} ${
        ex.request.resource ?? "(resource could not be normalized)"
      }`,
      `decision: ${ex.decision.effect}${
        ex.decision.rule ? ` by ${ex.decision.rule}` : ""
      } — ${ex.decision.reason}`,
      `rules for ${ex.request.action}: ${ex.rules.length}`,
    ];
    for (const r of ex.rules) {
      out.push(
        `  ${r.matched ? "MATCH" : "no   "} ${r.effect.padEnd(16)} ${r.id}  (${r.location})`,
      );
      if (r.resource) renderNode(r.resource, "      ", out);
      if (r.condition) renderNode(r.condition, "      ", out);
    }
    console.log(out.join("\n"));
    return 0;
  }
  throw new UsageError(USAGE);
}

try {
  Deno.exit(await main(Deno.args));
} catch (e) {
  if (e instanceof PolicyError) {
    for (const p of e.problems) console.error(formatProblem(p));
    Deno.exit(1);
  }
  if (e instanceof UsageError) {
    console.error(e.message);
    Deno.exit(2);
  }
  throw e;
}
