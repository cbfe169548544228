/**
 * `deno task host [--port N] [--policy FILE|DIR]... [--audit FILE] [--tokens FILE]
 * [--agents DIR]...`: a long-running host with the control-plane API (and console) on
 * 127.0.0.1. Without --tokens an admin token is generated and written to
 * <warden home>/api-token (0600) once the port is held and the home is this host's (an exclusive
 * lock on <warden home>/host.lock for the host's lifetime). Operators start agents only from
 * modules under the --agents roots (default <warden home>/agents). SIGHUP reloads the policy
 * (the path `deno task run` uses); SIGINT/SIGTERM stop it, exit 0.
 */
import { join } from "node:path";
import { z } from "zod";
import {
  CliError,
  type CliSpec,
  command,
  type Ctx,
  intFlag,
  readJson,
  runCli,
  UsageError,
} from "./runner.ts";
import { existingDir, writableFile } from "./paths.ts";
import { reloadOnHup } from "./reload.ts";
import { ApprovalQueue } from "../approvals/queue.ts";
import { registerBuiltinTools } from "../executors/builtin_tools.ts";
import { ToolRegistry } from "../executors/tools.ts";
import { AgentHost } from "../host.ts";
import { Keystore } from "../identity/keystore.ts";
import { loadPolicy, loadRings } from "../policy/loader.ts";
import { FileSagaJournal, journalPath } from "../saga/journal.ts";
import { fleetSagaJournal, toolsDigest } from "../fleet/sagas.ts";
import { fleetView } from "../fleet/directory.ts";
import type { BundlesPart } from "../fleet/bundles.ts";
import { controlPlane } from "../server/api.ts";
import { defaultAgentRoot } from "../server/roles.ts";
import { wardenHome } from "../state.ts";
import { SANDBOX_FLAGS, SANDBOX_USAGE, sandboxFromFlags } from "../supervisor/sandbox/mode.ts";
import { TrustService } from "../trust/service.ts";
import {
  type Fleet,
  fleetConfig,
  FleetConfigFile,
  FleetDbError,
  fleetUrl,
  issueRevocation,
  openFleet,
} from "../fleet/mod.ts";

/** The `--tokens` file: a JSON list of bearer tokens with their names and roles. */
export const Tokens = z.array(
  z.strictObject({
    token: z.string().min(16),
    name: z.string().min(1),
    role: z.enum(["viewer", "operator", "admin"]),
  }),
);
const ARGS = `[--port N] [--policy FILE|DIR]... [--audit FILE] [--tokens FILE] [--agents DIR]...
       [--fleet URL [--fleet-config FILE] [--channel NAME] [--fleet-wakeup notify|poll]]
       [--unsafe-no-sandbox [--unsafe-allow-unconfined-rings]]`;
const FLEET_HELP = `  --fleet URL
             join the fleet on that PostgreSQL (postgres://…; or WARDEN_FLEET_URL)
  --fleet-config FILE
             JSON {wakeup, channel, publishers, hostId, staleMs, …} (README "Running a fleet")
  --channel NAME
             follow that policy channel (bundles of \`deno task policy publish\`)
  --fleet-wakeup notify|poll
             poll: no LISTEN/NOTIFY, polling only (the portable mode)`;
const DEFAULT_POLICY = new URL("../../policies/agents.yaml", import.meta.url).pathname;
const CONSOLE = new URL("../server/console.html", import.meta.url).pathname;

function fail(msg: string): never {
  throw new CliError(msg);
}

let homeLock: Deno.FsFile | undefined;
/**
 * One live host per warden home: its token file, audit log, journals and status files are that
 * host's. An exclusive lock on `<home>/host.lock`, held until exit (the kernel drops it when
 * the process dies, so a crashed host leaves no stale lock), records the holder's pid.
 */
function lockHome(home: string): void {
  const path = join(home, "host.lock");
  homeLock = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  if (!homeLock.tryLockSync(true)) {
    let pid = "";
    try {
      pid = Deno.readTextFileSync(path).trim().slice(0, 16);
    } catch { /* unreadable: no pid to report */ }
    fail(
      `${home} is in use by a running host${pid ? ` (pid ${pid})` : ""}; ` +
        "stop it, or give this host its own WARDEN_HOME",
    );
  }
  homeLock.truncateSync(0);
  homeLock.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
}

/** Write a fresh token to `path` (0600, atomically; the temp file must be new). */
function writeToken(path: string): string {
  const token = crypto.randomUUID().replaceAll("-", "") + crypto.randomUUID().replaceAll("-", "");
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    Deno.removeSync(tmp); // left by a crashed host with this pid (a link is removed, not followed)
  } catch { /* none */ }
  Deno.writeTextFileSync(tmp, token + "\n", { mode: 0o600, createNew: true });
  Deno.renameSync(tmp, path);
  return token;
}

const OPTIONS = {
  port: { type: "string", default: "7420" },
  policy: { type: "string", multiple: true },
  audit: { type: "string" },
  tokens: { type: "string" },
  agents: { type: "string", multiple: true },
  fleet: { type: "string" },
  "fleet-config": { type: "string" },
  channel: { type: "string" },
  "fleet-wakeup": { type: "string" },
  ...SANDBOX_FLAGS,
} as const;

async function main({ values: o }: Ctx<typeof OPTIONS>): Promise<number> {
  const sandbox = sandboxFromFlags(o);
  if (typeof sandbox === "string") throw new UsageError(sandbox);
  const port = intFlag("port", o.port, 0, 65535)!;
  const home = wardenHome();
  const policyPaths = o.policy?.length ? o.policy : [DEFAULT_POLICY];
  const policy = loadPolicy(policyPaths, { builtin: true });
  const tokens: z.infer<typeof Tokens> | undefined = o.tokens
    ? readJson(o.tokens, Tokens, "--tokens")
    : undefined;
  for (const a of o.agents ?? []) existingDir(a, "--agents", { mayBeAbsent: true });
  const wakeup = o["fleet-wakeup"];
  if (wakeup !== undefined && wakeup !== "notify" && wakeup !== "poll") {
    throw new UsageError(`--fleet-wakeup: expected notify or poll, got "${wakeup}"`);
  }
  const url = fleetUrl(o.fleet);
  if (url === undefined && (o["fleet-config"] || o.channel || wakeup)) {
    throw new UsageError("--fleet-config, --channel and --fleet-wakeup need --fleet URL");
  }
  const fleetFile = o["fleet-config"]
    ? readJson(o["fleet-config"], FleetConfigFile, "--fleet-config")
    : undefined;
  // Hold the port before writing anything: a host that cannot bind leaves every file alone.
  let serve: (req: Request) => Response | Promise<Response> = () =>
    Response.json({ error: "the host is starting" }, { status: 503 });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, (r) => serve(r));
  } catch (e) {
    fail(
      e instanceof Deno.errors.AddrInUse
        ? `port ${port} is in use (another host?); nothing was written`
        : `cannot listen on 127.0.0.1:${port}: ${(e as Error).message}`,
    );
  }
  Deno.mkdirSync(home, { recursive: true, mode: 0o700 });
  lockHome(home); // before anything in the home is written: never a live host's token
  if (o.audit !== undefined) writableFile(o.audit, "--audit");
  const access = tokens ??
    [{ token: writeToken(join(home, "api-token")), name: "local-admin", role: "admin" as const }];
  // Trust scores persist next to the agents' keys (identities persist, so does their standing).
  let trust: TrustService;
  try {
    trust = new TrustService(join(home, "trust.json"));
  } catch (e) {
    fail(`trust: ${(e as Error).message}`);
  }
  const keystore = new Keystore(join(home, "keys"), Deno.env.get("WARDEN_KEY_PASSPHRASE"));
  const signer = await keystore.signer("host");
  const tools = registerBuiltinTools(new ToolRegistry());
  const digest = await toolsDigest(tools.names());
  let fleet: Fleet | undefined;
  if (url !== undefined) {
    const config = fleetConfig(url, join(home, "fleet"), fleetFile, {
      wakeup,
      channel: o.channel,
      apiUrl: `http://127.0.0.1:${server.addr.port}`,
    });
    try {
      fleet = await openFleet(config, { did: signer.did, toolsDigest: digest });
    } catch (e) {
      if (e instanceof FleetDbError) fail(e.message);
      throw e;
    }
  }
  const host = new AgentHost({
    policy,
    rings: loadRings(),
    auditPath: o.audit ?? join(home, "audit.jsonl"),
    signer,
    keystore,
    trust,
    tools,
    // In a fleet the journal is the database's, fenced by this host's lease (fleet/sagas.ts).
    sagaJournal: fleet ? fleetSagaJournal(fleet, digest) : new FileSagaJournal(journalPath(home)),
    sre: { statusPath: join(home, "sre-status.json") },
    memory: { path: join(home, "memory.db") },
    ...sandbox,
  });
  const approvals = new ApprovalQueue(host.governor, fleet?.config.approvalTtlMs);
  host.setApprovalHandler(approvals.handler);
  try {
    await fleet?.start(host, { approvals });
  } catch (e) {
    await fleet?.close();
    await host.close();
    if (e instanceof FleetDbError || e instanceof CliError) fail(e.message);
    throw e;
  }
  host.resumeSagas().catch(() => {});
  let consoleHtml: string | undefined;
  try {
    consoleHtml = Deno.readTextFileSync(CONSOLE);
  } catch { /* no console page in this build */ }
  // Operators start agents only from modules under these roots (admins: anywhere).
  const agentRoots = o.agents?.length ? o.agents : [defaultAgentRoot(home)];
  // Fleet mode with a channel: a reload re-applies the channel's bundle, never local files.
  const bundles = fleet?.part<BundlesPart>("bundles");
  const fleetReload = bundles ? (by: string) => bundles.reapply(by) : undefined;
  const app = controlPlane(host, {
    tokens: access,
    approvals,
    policyPaths,
    consoleHtml,
    agentRoots,
    fleet: fleet ? fleetView(fleet.db, fleet.hostId) : undefined,
    fleetReload,
    revoke: fleet
      ? (kind, target, reason, by) =>
        issueRevocation(fleet.db, fleet.config.wakeup, {
          kind,
          target,
          reason,
          issuedBy: `${by}@${fleet.hostId}`,
        })
      : undefined,
  });
  serve = app.fetch;
  // SIGHUP: the same atomic policy hot reload as `deno task run`. Every signal handler is in
  // place before the ready line: whoever signals on seeing it must not find the default action.
  reloadOnHup(host, policyPaths, fleetReload);
  const { promise: stopped, resolve } = Promise.withResolvers<number>();
  const stop = async () => {
    approvals.close();
    await fleet?.close();
    await host.close();
    trust.save();
    await server.shutdown();
    resolve(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  console.log(
    `warden host: control plane on http://127.0.0.1:${server.addr.port} (token in ${
      o.tokens ?? join(home, "api-token")
    })`,
  );
  return await stopped;
}

/** `deno task host`. */
export const spec: CliSpec = {
  name: "host",
  command: command({
    args: ARGS,
    help: `${FLEET_HELP}\n${SANDBOX_USAGE}`,
    options: OPTIONS,
    files: [{ args: (p) => ["--policy", p], ext: ".yaml" }, { args: (p) => ["--tokens", p] }],
    main,
  }),
};

if (import.meta.main) await runCli(spec);
