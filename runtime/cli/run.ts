/**
 * `deno task run <agent.ts> [--ring N] [--policy FILE|DIR]... [--workspace DIR] [--audit FILE]
 *   [--timeout MS] [--cpu MS] [--memory MB] [--disk MB] [--pids N] [--broker-rate N]
 *   [--kill-after-denials N] [--bundle] [--json]`
 *
 * Runs one agent under a host, streams its stdout and stderr, prints the host's decisions on
 * stderr, writes the audit JSONL, and exits with the agent's code (137 when killed).
 */
import { describe, intFlag, parseCli } from "./args.ts";
import { formatProblem, PolicyError } from "../../governance/mod.ts";
import { registerBuiltinTools } from "../executors/builtin_tools.ts";
import { ToolRegistry } from "../executors/tools.ts";
import { AgentHost } from "../host.ts";
import { defaultKeystoreDir, Keystore } from "../identity/keystore.ts";
import { TrustService } from "../trust/service.ts";
import { FileSagaJournal, journalPath } from "../saga/journal.ts";
import { wardenHome } from "../state.ts";
import { compileSlos } from "../../governance/sre/mod.ts";
import { ChaosConfig } from "../sre/chaos.ts";
import { join } from "node:path";
import { loadInstalledPlugin } from "../plugins/load.ts";
import { loadPolicy, loadRings } from "../policy/loader.ts";
import { loadHostTools } from "../adapters/host_tools.ts";
import { pipeLines } from "../supervisor/output.ts";
import { SANDBOX_FLAGS, SANDBOX_USAGE, sandboxFromFlags } from "../supervisor/sandbox/mode.ts";

const USAGE = `usage: deno task run <agent.ts> [--ring 0-3] [--policy FILE|DIR]... [--workspace DIR]
       [--audit FILE] [--keystore DIR] [--timeout MS] [--cpu MS] [--memory MB] [--disk MB]
       [--pids N] [--broker-rate N] [--kill-after-denials N] [--trust FILE] [--plugin NAME]... [--slo FILE] [--chaos FILE]
       [--bundle] [--host-tools MODULE]... [--json] [--verbose]
       [--unsafe-no-sandbox [--unsafe-allow-unconfined-rings]]

  --memory MB, --disk MB, --pids N, --broker-rate N
             override the ring's budgets (policies/rings.yaml) for this agent: resident
             memory, growth of workspace + cache, processes/threads, broker checks per second
  --trust FILE
             keep trust scores in FILE across runs (without it: in memory for this run;
             trust always demotes and revokes)
  --bundle   bundle the agent's module graph first (agents that import npm packages, such
             as agent frameworks; the sandboxed process itself resolves and fetches nothing)
  --host-tools MODULE
             register the framework tools MODULE exports as "tools" (AI SDK, LangChain,
             OpenAI Agents) in the host: trusted code, run host-side, called by the agent
${SANDBOX_USAGE}`;

const DEFAULT_POLICY = new URL("../../policies/agents.yaml", import.meta.url).pathname;

const int = (name: string, v: string | undefined, min: number, max: number) =>
  intFlag(name, v, min, max, (m) => fail(`${m}\n${USAGE}`));

function fail(msg: string, code = 2): never {
  console.error(msg);
  Deno.exit(code);
}

async function main(): Promise<number> {
  const parsed = parseCli({
    ring: { type: "string" },
    policy: { type: "string", multiple: true },
    workspace: { type: "string" },
    audit: { type: "string" },
    keystore: { type: "string" },
    trust: { type: "string" },
    plugin: { type: "string", multiple: true },
    slo: { type: "string" },
    chaos: { type: "string" },
    timeout: { type: "string" },
    cpu: { type: "string" },
    memory: { type: "string" },
    disk: { type: "string" },
    pids: { type: "string" },
    "broker-rate": { type: "string" },
    "kill-after-denials": { type: "string" },
    bundle: { type: "boolean" },
    "host-tools": { type: "string", multiple: true },
    json: { type: "boolean" },
    verbose: { type: "boolean" },
    help: { type: "boolean" },
    ...SANDBOX_FLAGS,
  }, USAGE);
  if (!parsed) return 2;
  const { values: o, positionals } = parsed;
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) fail(USAGE);
  const ring = (int("ring", o.ring, 0, 3) ?? 2) as 0 | 1 | 2 | 3;
  const timeoutMs = int("timeout", o.timeout, 1, 86_400_000);
  const cpuMs = int("cpu", o.cpu, 1, 86_400_000);
  const memoryMb = int("memory", o.memory, 16, 65536);
  const diskMb = int("disk", o.disk, 1, 1048576);
  const pids = int("pids", o.pids, 8, 1_000_000);
  const brokerRate = int("broker-rate", o["broker-rate"], 1, 1_000_000);
  const denials = int("kill-after-denials", o["kill-after-denials"], 1, 1_000_000);
  const sandbox = sandboxFromFlags(o);
  if (typeof sandbox === "string") fail(`${sandbox}\n${USAGE}`);

  let policy, rings, slos, chaos;
  try {
    policy = loadPolicy(o.policy?.length ? o.policy : [DEFAULT_POLICY], { builtin: true });
    rings = loadRings();
    if (o.slo) slos = compileSlos(Deno.readTextFileSync(o.slo), o.slo);
    if (o.chaos) chaos = ChaosConfig.parse(JSON.parse(Deno.readTextFileSync(o.chaos)));
  } catch (e) {
    if (e instanceof PolicyError) {
      fail(e.problems.map(formatProblem).join("\n"), 1);
    }
    fail(`configuration: ${e instanceof Error ? e.message : e}`, 1);
  }
  let signer, keystore, trust;
  try {
    const dir = o.keystore ?? defaultKeystoreDir();
    keystore = new Keystore(dir, Deno.env.get("WARDEN_KEY_PASSPHRASE"));
    if (o.audit) signer = await keystore.signer("host");
    // Without --trust the host keeps scores in memory: trust runs in every host.
    if (o.trust) trust = new TrustService(o.trust);
  } catch (e) {
    fail(`keystore: ${e instanceof Error ? e.message : e}`, 1);
  }
  const tools = registerBuiltinTools(new ToolRegistry());
  for (const m of o["host-tools"] ?? []) {
    try {
      const names = await loadHostTools(tools, m);
      if (o.verbose) console.error(`warden: host tools from ${m}: ${names.join(", ")}`);
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e), 1);
    }
  }
  const host = new AgentHost({
    policy,
    rings,
    auditPath: o.audit,
    signer,
    keystore,
    trust,
    tools,
    sagaJournal: new FileSagaJournal(journalPath(wardenHome())),
    sre: { slos, chaos, statusPath: join(wardenHome(), "sre-status.json") },
    killOnDenials: denials ? { count: denials, windowMs: 60_000 } : null,
    ...sandbox,
    onEvent: (e) => {
      if (o.json) console.error(JSON.stringify({ event: e }));
      else if (e.type === "output") console.error(`warden: output ${JSON.stringify(e.output)}`);
      else if (e.type === "log") console.error(`warden: log [${e.level}] ${e.message}`);
      else if (e.type === "kill") console.error(`warden: KILLED ${e.agent}: ${e.reason}`);
    },
  });
  host.audit.subscribe((e) => {
    if (o.json) console.error(JSON.stringify({ decision: e }));
    else if (e.effect !== "allow" || o.verbose) console.error(describe(e));
  });
  // Sagas a crashed host left open resume now (their tools are this host's tools).
  host.resumeSagas().catch((e) =>
    console.error(`warden: saga resume: ${e instanceof Error ? e.message : e}`)
  );
  for (const name of o.plugin ?? []) {
    try {
      await loadInstalledPlugin(host, wardenHome(), name);
    } catch (e) {
      await host.close();
      fail(e instanceof Error ? e.message : String(e), 1);
    }
  }
  let handle;
  try {
    handle = await host.start({
      module: positionals[0],
      ring,
      workspace: o.workspace,
      timeoutMs,
      cpuMs,
      memoryBytes: memoryMb ? memoryMb * 1048576 : undefined,
      budgets: {
        ...(diskMb ? { diskBytes: diskMb * 1048576 } : {}),
        ...(pids ? { pids } : {}),
        ...(brokerRate ? { brokerRate } : {}),
      },
      bundle: o.bundle,
    });
  } catch (e) {
    await host.close();
    fail(e instanceof Error ? e.message : String(e), 1);
  }
  const enc = new TextEncoder();
  const onSignal = () => current.kill("operator interrupt (SIGINT)");
  Deno.addSignalListener("SIGINT", onSignal);
  // SIGHUP: atomic policy hot reload (a policy that does not compile keeps the live one).
  const onHup = () => {
    const r = host.delivery.reload(() =>
      loadPolicy(o.policy?.length ? o.policy : [DEFAULT_POLICY], { builtin: true })
    );
    console.error(
      r.ok ? "warden: policy reloaded" : `warden: policy reload refused:\n${r.problems.join("\n")}`,
    );
  };
  Deno.addSignalListener("SIGHUP", onHup);
  // Follow the agent through trust demotions (the host restarts it under the lower ceiling).
  let current = handle;
  let exit;
  while (true) {
    const out = pipeLines(
      current.process.stdout,
      (l) => Deno.stdout.writeSync(enc.encode(l + "\n")),
    );
    const err = pipeLines(
      current.process.stderr,
      (l) => Deno.stderr.writeSync(enc.encode(l + "\n")),
    );
    exit = await current.exited;
    await Promise.all([out, err]);
    const next = await current.next;
    if (!next) break;
    current = next;
  }
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGHUP", onHup);
  const chaosReport = host.sre.chaos ? host.sre.status().chaos : null;
  await host.close();
  trust?.save();
  if (chaosReport) {
    const held = host.sre.status().chaos?.resilience ?? chaosReport.resilience;
    console.error(
      `warden: chaos: ${chaosReport.affectedCalls} of ${chaosReport.calls} calls hit (${
        JSON.stringify(chaosReport.faults)
      }); resilience score ${held.score} (held: ${held.held.join(", ") || "-"}; broken: ${
        held.broken.join(", ") || "-"
      })`,
    );
  }
  return exit.code;
}

Deno.exit(await main());
