/**
 * `deno task demo`: one host runs a benign research agent and a hostile one side by side,
 * each in its own sandboxed process at ring 2, then an MCP server behind the gateway driven by
 * a scripted MCP client that tries what a prompt-injected model would; it prints every
 * decision, the hostile agent's demotion and revocation by trust, the kill switch on a busy
 * loop, and a summary checked against the hash-chained audit log.
 */
import { join } from "node:path";
import { verifyLog } from "../audit/verify.ts";
import { registerBuiltinTools } from "../executors/builtin_tools.ts";
import { ToolRegistry } from "../executors/tools.ts";
import { type AgentExit, type AgentHandle, AgentHost, type HostEvent } from "../host.ts";
import { Keystore } from "../identity/keystore.ts";
import { loadPolicy, loadRings } from "../policy/loader.ts";
import { pipeLines } from "../supervisor/output.ts";
import { bold, clip, dim, visible } from "./colour.ts";
import { mcpAct } from "./demo_mcp.ts";
import { argsOrExit } from "./runner.ts";
import { demoSpec } from "./work.ts";

await argsOrExit(demoSpec); // --help and usage mistakes exit before any work

const root = new URL("../../", import.meta.url).pathname;

// A loopback "research API", with an endpoint a rogue agent would like to send loot to.
let exfilHits = 0;
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
  const url = new URL(req.url);
  if (url.pathname === "/api/papers") {
    return Response.json([
      { title: "Process isolation for LLM agents" },
      { title: "Deny-by-default policy engines in practice" },
    ]);
  }
  if (url.pathname === "/exfil") exfilHits++;
  return new Response("not found", { status: 404 });
});
const api = `http://127.0.0.1:${server.addr.port}`;

const state = Deno.makeTempDirSync({ prefix: "warden-demo-" });
const secret = join(state, "host-secret.txt");
Deno.writeTextFileSync(secret, "AWS_SECRET_ACCESS_KEY=demo-not-a-real-key\n");
const researchWs = join(state, "research");
Deno.mkdirSync(researchWs);
Deno.writeTextFileSync(
  join(researchWs, "notes.md"),
  "# Notes\n\nSandboxing agents in processes beats in-process workers. Kill switches must work on busy loops.\nPolicies decide every sandboxing operation.\n",
);
const auditPath = join(state, "audit.jsonl");

const policy = loadPolicy(
  [join(root, "policies/agents.yaml"), join(root, "examples/mcp/policy.yaml")],
  { builtin: true },
);
const signer = await new Keystore(join(state, "keys")).signer("host");
const events: HostEvent[] = [];
const host = new AgentHost({
  policy,
  rings: loadRings(),
  auditPath,
  signer,
  tools: registerBuiltinTools(new ToolRegistry()),
  onEvent: (e) => {
    events.push(e);
    if (e.type === "kill") {
      console.log(bold(`  ✖ KILL ${e.agent}: ${e.reason} (gone in ${e.latencyMs?.toFixed(1)} ms)`));
    }
    if (e.type === "output") {
      console.log(`  ➜ output from ${e.agent}: ${visible(clip(JSON.stringify(e.output), 110))}`);
    }
  },
});
host.audit.subscribe((e) => {
  if (e.path === "host" || e.action.startsWith("bootstrap.") || e.action === "import") return;
  const mark = e.effect === "allow" ? "ALLOW" : e.effect === "deny" ? "DENY " : "ASK  ";
  const line = `  ${mark} ${e.agent.name.padEnd(8)} ${e.path.padEnd(6)} ${e.action.padEnd(12)} ${
    visible(clip(e.resource, 48))
  }`;
  console.log(e.effect === "allow" ? line : `${line}\n${dim(`         ${visible(e.reason)}`)}`);
});

console.log(
  bold(`Warden demo — policy ${policy.names.join(" + ")}, ring ceilings from policies/rings.yaml`),
);
console.log(dim(`  research API on ${api}; audit log ${auditPath}\n`));

const task = JSON.stringify({ api, topic: "sandboxing", secret });
const research = await host.start({
  module: join(root, "examples/research_agent.ts"),
  name: "research",
  workspace: researchWs,
  env: { WARDEN_TASK: task },
  timeoutMs: 20_000,
});
const rogue = await host.start({
  module: join(root, "examples/rogue_agent.ts"),
  name: "rogue",
  env: { WARDEN_TASK: task },
  timeoutMs: 4_000,
});
const out = (name: string) => (l: string) => console.log(dim(`  [${name}] ${visible(l)}`));
const piped = (h: AgentHandle, name: string) =>
  Promise.all([pipeLines(h.process.stdout, out(name)), pipeLines(h.process.stderr, out(name))]);
/** Follow an agent through its restarts (a trust demotion restarts it at the lower ring). */
async function lives(first: AgentHandle, name: string): Promise<AgentExit[]> {
  const exits: AgentExit[] = [];
  for (let h: AgentHandle | null = first; h; h = await h.next) {
    const [exit] = await Promise.all([h.exited, piped(h, name)]);
    exits.push(exit);
  }
  return exits;
}
const [[r1], rogueLives] = await Promise.all([lives(research, "research"), lives(rogue, "rogue")]);
const r2 = rogueLives[rogueLives.length - 1];

console.log(bold("\n  The kill switch on an agent spinning in while(true){}"));
const spinner = await host.start({
  module: join(root, "examples/spinner_agent.ts"),
  name: "spinner",
  timeoutMs: 1_500,
});
const [[r3]] = await Promise.all([lives(spinner, "spinner")]);

const mcp = await mcpAct(host, join(state, "mcp"), (l) => console.log(l));
await host.close();

const entries = Deno.readTextFileSync(auditPath).trim().split("\n").map((l) => JSON.parse(l));
const verified = await verifyLog(auditPath, signer.did);
const count = (name: string, effect: string) =>
  entries.filter((e) => e.agent.name === name && e.effect === effect && e.path !== "host").length;
console.log(bold("\nSummary"));
console.log(
  `  research: exit ${r1.code}; ${count("research", "allow")} allowed, ${
    count("research", "deny")
  } denied`,
);
console.log(
  `  rogue:    ${rogueLives.length} process(es); ${
    rogueLives.map((x) => x.killed ?? `exit ${x.code}`).join(" → ")
  }; ${count("rogue", "allow")} allowed, ${count("rogue", "deny")} denied`,
);
console.log(`  spinner:  exit ${r3.code}${r3.killed ? ` (killed: ${r3.killed})` : ""}`);
console.log(
  `  notes (MCP): ${mcp.listed} tools listed, ${mcp.hidden} hidden; ${mcp.refused} of ${mcp.calls} ` +
    `calls refused; notes intact: ${mcp.intact}`,
);
console.log(`  loot received by the exfiltration endpoint: ${exfilHits}`);
console.log(
  `  report written by research: ${
    Deno.readTextFileSync(join(researchWs, "report.md")).split("\n")[0]
  }`,
);
console.log(
  `  audit: ${entries.length} entries, ${
    verified.ok
      ? `hash chain verified, ${verified.checkpoints} signed checkpoint(s) verified`
      : `BROKEN: ${verified.problem}`
  }`,
);

await server.shutdown();
Deno.removeSync(state, { recursive: true });
const ok = r1.code === 0 && r2.code === 137 && /^trust revoked/.test(r2.killed ?? "") &&
  r3.code === 137 && exfilHits === 0 && verified.ok && mcp.intact;
Deno.exit(ok ? 0 : 1);
