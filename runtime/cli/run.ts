/**
 * `deno task run <agent.ts> [flags]` (see `--help`).
 *
 * Runs one agent under a host, streams its stdout and stderr, prints the host's decisions on
 * stderr, writes the audit JSONL, and exits with the agent's code (137 when killed; 1 for a
 * file or configuration error, 2 for a usage error, before anything starts).
 */
import { describe, noteworthy } from "./args.ts";
import { visible } from "./colour.ts";
import {
  CliError,
  type CliSpec,
  command,
  type Ctx,
  FileError,
  fsProblem,
  intFlag,
  readJson,
  readText,
  runCli,
  UsageError,
} from "./runner.ts";
import { existingDir, writableFile } from "./paths.ts";
import { registerBuiltinTools } from "../executors/builtin_tools.ts";
import { ToolRegistry } from "../executors/tools.ts";
import { AgentHost } from "../host.ts";
import { defaultKeystoreDir, Keystore } from "../identity/keystore.ts";
import { TrustService } from "../trust/service.ts";
import { FileSagaJournal, journalPath } from "../saga/journal.ts";
import { wardenHome } from "../state.ts";
import { compileSlos } from "../../governance/sre/mod.ts";
import { ChaosConfig } from "../sre/chaos.ts";
import { dirname, join } from "node:path";
import { loadInstalledPlugin } from "../plugins/load.ts";
import { loadPolicy, loadRings } from "../policy/loader.ts";
import { loadHostTools } from "../adapters/host_tools.ts";
import { pipeLines } from "../supervisor/output.ts";
import { stdioFilter } from "../outputs/stdio.ts";
import {
  SANDBOX_FLAGS,
  SANDBOX_USAGE,
  sandboxFromFlags,
  UNCONFINED,
} from "../supervisor/sandbox/mode.ts";
import { landlockSandbox } from "../supervisor/sandbox/build.ts";
import { explainSandbox } from "../supervisor/sandbox/report.ts";
import { reloadOnHup } from "./reload.ts";
import { argsProblem, envFromFlags } from "../host/agent_input.ts";

const ARGS = `<agent.ts> [--ring 0-3] [--policy FILE|DIR]... [--workspace DIR]
       [--audit FILE] [--keystore DIR] [--timeout MS] [--cpu MS] [--memory MB] [--disk MB]
       [--pids N] [--broker-rate N] [--kill-after-denials N] [--trust FILE] [--plugin NAME]...
       [--slo FILE] [--chaos FILE] [--bundle] [--host-tools MODULE]... [--json] [--verbose]
       [--unsafe-no-sandbox [--unsafe-allow-unconfined-rings]] [--env NAME=VALUE]...
       [--explain-sandbox] [-- ARGS...]
       deno task run --command [--ring 0-3] [flags] -- PROGRAM [ARGS...]`;
const HELP = `
  --env NAME=VALUE
             a value the agent reads with env.get("NAME") (decided by the policy as env.get
             of NAME, audited; never in the agent's process environment); repeatable, each
             NAME once, at most 64 values of 4096 characters
  -- ARGS... the agent's own arguments (its Deno.args), verbatim: never flags of Deno or of
             this command; at most 64 of 4096 characters
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
  --command -- PROGRAM [ARGS...]
             run any executable (python3 agent.py, a native program) as the agent instead
             of a Deno module: at its ring under the kernel layers only (Landlock, seccomp,
             network namespace, cgroup; no broker, no SDK), with its workspace, budgets,
             audit and kill switch; it reaches the host's tools over MCP on the connection
             whose descriptor number is in WARDEN_UNIX_FD; --env NAME=VALUE sets its process
             environment; not with an agent module, --bundle or --explain-sandbox
  --explain-sandbox
             print the kernel layers (Landlock, seccomp, cgroups) and their rules for this
             agent at its ring, and whether it would be allowed to start; exit 0, start nothing
${SANDBOX_USAGE}`;

const DEFAULT_POLICY = new URL("../../policies/agents.yaml", import.meta.url).pathname;

/** `deno task run`'s flags (one table: add a flag here and read it in main). */
const OPTIONS = {
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
  env: { type: "string", multiple: true },
  "explain-sandbox": { type: "boolean" },
  command: { type: "boolean" },
  ...SANDBOX_FLAGS,
} as const;

/** An agent module named on the command line must be a file (URLs are the host's to judge). */
function agentFile(module: string): void {
  if (/^[a-z][a-z0-9+.-]*:/i.test(module)) return;
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(module);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new CliError(`agent module not found: ${module}`);
    throw new FileError(module, `agent module: ${fsProblem(e)}`);
  }
  if (!st.isFile) throw new FileError(module, "agent module: not a file");
}

/**
 * `--command -- PROGRAM ARGS…`: the program to run and the file that names it in the audit log
 * (its script when the first argument is one, else the program), or null without --command.
 * Bad combinations are usage errors.
 */
function commandAgent(
  o: { command?: boolean; bundle?: boolean; "explain-sandbox"?: boolean },
  positionals: string[],
  rest: string[],
): { module: string; argv: string[] } | null {
  if (!o.command) {
    if (positionals.length === 0) throw new UsageError("missing the agent module (or --command)");
    return null;
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `--command runs the program after --, not an agent module: ${positionals[0]}`,
    );
  }
  if (rest.length === 0) throw new UsageError("--command needs a program: --command -- PROGRAM");
  if (o.bundle) throw new UsageError("--bundle is for Deno agent modules, not --command");
  if (o["explain-sandbox"]) {
    throw new UsageError("--explain-sandbox explains Deno agent modules, not --command");
  }
  const why = argsProblem(rest);
  if (why) throw new UsageError(`--command: ${why}`);
  const script = rest[1];
  const module = script && /\.[a-z]{1,4}$/i.test(script) && isFile(script) ? script : rest[0];
  return { module, argv: rest };
}

function isFile(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

/** The flag-named configuration files: policies, SLOs, chaos. */
function loadConfig(o: { policy?: string[]; slo?: string; chaos?: string }) {
  const policy = loadPolicy(o.policy?.length ? o.policy : [DEFAULT_POLICY], { builtin: true });
  const slos = o.slo ? compileSlos(readText(o.slo, "--slo"), o.slo) : undefined;
  const chaos = o.chaos ? readJson(o.chaos, ChaosConfig, "--chaos") : undefined;
  return { policy, rings: loadRings(), slos, chaos };
}

async function main(ctx: Ctx<typeof OPTIONS>): Promise<number> {
  const { values: o, positionals } = ctx;
  const ring = (intFlag("ring", o.ring, 0, 3) ?? 2) as 0 | 1 | 2 | 3;
  const timeoutMs = intFlag("timeout", o.timeout, 1, 86_400_000);
  const cpuMs = intFlag("cpu", o.cpu, 1, 86_400_000);
  const memoryMb = intFlag("memory", o.memory, 16, 65536);
  const diskMb = intFlag("disk", o.disk, 1, 1048576);
  const pids = intFlag("pids", o.pids, 8, 1_000_000);
  const brokerRate = intFlag("broker-rate", o["broker-rate"], 1, 1_000_000);
  const denials = intFlag("kill-after-denials", o["kill-after-denials"], 1, 1_000_000);
  const sandbox = sandboxFromFlags(o);
  if (typeof sandbox === "string") throw new UsageError(sandbox);
  const env = envFromFlags(o.env ?? []);
  if (typeof env === "string") throw new UsageError(env);
  const cmd = commandAgent(o, positionals, ctx.rest);
  const args = cmd ? null : argsProblem(ctx.rest);
  if (args) throw new UsageError(`-- ARGS: ${args}`);
  if (!cmd) agentFile(positionals[0]);
  if (o.workspace !== undefined) existingDir(o.workspace, "--workspace", { mayBeAbsent: true });
  if (o.audit !== undefined) writableFile(o.audit, "--audit");
  const { policy, rings, slos, chaos } = loadConfig(o);
  if (o["explain-sandbox"]) {
    const sb = sandbox.sandbox === "off" ? { path: null, why: UNCONFINED } : landlockSandbox();
    const ws = o.workspace ?? "a new temporary directory";
    const agent = { module: positionals[0], workspace: ws };
    for (const l of explainSandbox(ring, rings.doc.rings[ring], sb, agent, sandbox)) {
      console.log(l);
    }
    return 0;
  }
  let trust;
  if (o.trust) {
    existingDir(dirname(o.trust), "--trust", { of: o.trust });
    try {
      trust = new TrustService(o.trust);
    } catch (e) {
      throw new FileError(o.trust, (e as Error).message, undefined, "--trust");
    }
  }
  let signer, keystore;
  try {
    const dir = o.keystore ?? defaultKeystoreDir();
    keystore = new Keystore(dir, Deno.env.get("WARDEN_KEY_PASSPHRASE"));
    if (o.audit) signer = await keystore.signer("host");
  } catch (e) {
    throw new CliError(`keystore: ${e instanceof Error ? e.message : e}`);
  }
  const tools = registerBuiltinTools(new ToolRegistry());
  for (const m of o["host-tools"] ?? []) {
    try {
      const names = await loadHostTools(tools, m);
      if (o.verbose) console.error(`warden: host tools from ${m}: ${names.join(", ")}`);
    } catch (e) {
      throw new CliError(e instanceof Error ? e.message : String(e));
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
    memory: { path: join(wardenHome(), "memory.db") },
    killOnDenials: denials ? { count: denials, windowMs: 60_000 } : null,
    ...sandbox,
    onEvent: (e) => {
      if (o.json) console.error(JSON.stringify({ event: e }));
      else if (e.type === "output") {
        console.error(visible(`warden: output ${JSON.stringify(e.output)}`));
      } else if (e.type === "log") console.error(visible(`warden: log [${e.level}] ${e.message}`));
      else if (e.type === "kill") console.error(`warden: KILLED ${e.agent}: ${e.reason}`);
    },
  });
  host.audit.subscribe((e) => {
    if (o.json) console.error(JSON.stringify({ decision: e }));
    else if (noteworthy(e) || o.verbose) console.error(describe(e));
    // --verbose: each layer the agent starts under (the `layers` of its agent.start entry).
    if (!o.json && o.verbose && e.action === "agent.start" && e.layers) {
      for (const [k, v] of Object.entries(e.layers)) console.error(`warden: layer ${k}: ${v}`);
    }
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
      throw new CliError(e instanceof Error ? e.message : String(e));
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
      ...(cmd
        ? { module: cmd.module, command: cmd.argv, processEnv: env }
        : { env, args: ctx.rest }),
    });
  } catch (e) {
    await host.close();
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
  const enc = new TextEncoder();
  const onSignal = () => current.kill("operator interrupt (SIGINT)");
  Deno.addSignalListener("SIGINT", onSignal);
  // SIGHUP: atomic policy hot reload (a policy that does not compile keeps the live one).
  const stopReload = reloadOnHup(host, o.policy?.length ? o.policy : [DEFAULT_POLICY]);
  // Follow the agent through trust demotions (the host restarts it under the lower ceiling).
  let current = handle;
  let exit;
  while (true) {
    // The policy's output rules (channel stdio) on each line the agent prints.
    const [o1, o2] = (["stdout", "stderr"] as const).map((s) =>
      stdioFilter(host.governor, current.ref, s)
    );
    const out = pipeLines(
      current.process.stdout,
      (l) => Deno.stdout.writeSync(enc.encode(o1(l) + "\n")),
    );
    const err = pipeLines(
      current.process.stderr,
      (l) => Deno.stderr.writeSync(enc.encode(o2(l) + "\n")),
    );
    exit = await current.exited;
    await Promise.all([out, err]);
    const next = await current.next;
    if (!next) break;
    current = next;
  }
  Deno.removeSignalListener("SIGINT", onSignal);
  stopReload();
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

/** `deno task run`. */
export const spec: CliSpec = {
  name: "run",
  command: command({
    args: ARGS,
    help: HELP,
    options: OPTIONS,
    positionals: [0, 1],
    rest: true,
    files: [
      { args: (p) => [p], malformed: false },
      { args: (p) => ["examples/research_agent.ts", "--policy", p], ext: ".yaml" },
      { args: (p) => ["examples/research_agent.ts", "--chaos", p] },
      { args: (p) => ["examples/research_agent.ts", "--slo", p], ext: ".yaml" },
      { args: (p) => ["examples/research_agent.ts", "--trust", p], missing: false },
    ],
    main,
  }),
};

if (import.meta.main) await runCli(spec);
