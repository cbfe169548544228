/**
 * `deno task host [--port N] [--policy FILE|DIR]... [--audit FILE] [--tokens FILE]
 * [--agents DIR]...`: a long-running host with the control-plane API (and console) on
 * 127.0.0.1. Without --tokens an admin token is generated and written to
 * <warden home>/api-token (0600) once the port is held and the home is this host's (an exclusive
 * lock on <warden home>/host.lock for the host's lifetime). Operators start agents only from
 * modules under the --agents roots (default <warden home>/agents).
 */
import { join } from "node:path";
import { z } from "zod";
import { formatProblem, PolicyError } from "../../governance/mod.ts";
import { parseCli } from "./args.ts";
import { ApprovalQueue } from "../approvals/queue.ts";
import { registerBuiltinTools } from "../executors/builtin_tools.ts";
import { ToolRegistry } from "../executors/tools.ts";
import { AgentHost } from "../host.ts";
import { Keystore } from "../identity/keystore.ts";
import { loadPolicy, loadRings } from "../policy/loader.ts";
import { FileSagaJournal, journalPath } from "../saga/journal.ts";
import { controlPlane } from "../server/api.ts";
import { defaultAgentRoot } from "../server/roles.ts";
import { wardenHome } from "../state.ts";
import { SANDBOX_FLAGS, SANDBOX_USAGE, sandboxFromFlags } from "../supervisor/sandbox/mode.ts";
import { TrustService } from "../trust/service.ts";

const Tokens = z.array(
  z.strictObject({
    token: z.string().min(16),
    name: z.string().min(1),
    role: z.enum(["viewer", "operator", "admin"]),
  }),
);
const USAGE =
  `usage: deno task host [--port N] [--policy FILE|DIR]... [--audit FILE] [--tokens FILE] [--agents DIR]...
       [--unsafe-no-sandbox [--unsafe-allow-unconfined-rings]]
${SANDBOX_USAGE}`;
const DEFAULT_POLICY = new URL("../../policies/agents.yaml", import.meta.url).pathname;
const CONSOLE = new URL("../server/console.html", import.meta.url).pathname;

function fail(msg: string): never {
  console.error(msg);
  Deno.exit(1);
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

const parsed = parseCli({
  port: { type: "string", default: "7420" },
  policy: { type: "string", multiple: true },
  audit: { type: "string" },
  tokens: { type: "string" },
  agents: { type: "string", multiple: true },
  ...SANDBOX_FLAGS,
}, USAGE);
if (!parsed) Deno.exit(2);
if (parsed.positionals.length > 0) {
  console.error(`unexpected argument "${parsed.positionals[0]}"\n${USAGE}`);
  Deno.exit(2);
}
const { values: o } = parsed;
const sandbox = sandboxFromFlags(o);
if (typeof sandbox === "string") fail(`${sandbox}\n${USAGE}`);
const port = Number(o.port);
if (!/^\d{1,5}$/.test(o.port) || port > 65535) fail(`--port: expected 0-65535, got "${o.port}"`);
const home = wardenHome();
const policyPaths = o.policy?.length ? o.policy : [DEFAULT_POLICY];
let policy;
try {
  policy = loadPolicy(policyPaths, { builtin: true });
} catch (e) {
  if (e instanceof PolicyError) {
    fail(e.problems.map(formatProblem).join("\n"));
  }
  throw e;
}
let tokens: z.infer<typeof Tokens> | undefined;
if (o.tokens) {
  try {
    tokens = Tokens.parse(JSON.parse(Deno.readTextFileSync(o.tokens)));
  } catch (e) {
    fail(`${o.tokens}: ${e instanceof z.ZodError ? e.issues[0].message : (e as Error).message}`);
  }
}
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
if (!tokens) {
  tokens = [{ token: writeToken(join(home, "api-token")), name: "local-admin", role: "admin" }];
}
// Trust scores persist next to the agents' keys (identities persist, so does their standing).
let trust: TrustService;
try {
  trust = new TrustService(join(home, "trust.json"));
} catch (e) {
  fail(`trust: ${(e as Error).message}`);
}
const keystore = new Keystore(join(home, "keys"), Deno.env.get("WARDEN_KEY_PASSPHRASE"));
const host = new AgentHost({
  policy,
  rings: loadRings(),
  auditPath: o.audit ?? join(home, "audit.jsonl"),
  signer: await keystore.signer("host"),
  keystore,
  trust,
  tools: registerBuiltinTools(new ToolRegistry()),
  sagaJournal: new FileSagaJournal(journalPath(home)),
  sre: { statusPath: join(home, "sre-status.json") },
  ...sandbox,
});
const approvals = new ApprovalQueue(host.governor);
host.setApprovalHandler(approvals.handler);
host.resumeSagas().catch(() => {});
let consoleHtml: string | undefined;
try {
  consoleHtml = Deno.readTextFileSync(CONSOLE);
} catch { /* no console page in this build */ }
// Operators start agents only from modules under these roots (admins: anywhere).
const agentRoots = o.agents?.length ? o.agents : [defaultAgentRoot(home)];
const app = controlPlane(host, { tokens, approvals, policyPaths, consoleHtml, agentRoots });
serve = app.fetch;
console.log(
  `warden host: control plane on http://127.0.0.1:${server.addr.port} (token in ${
    o.tokens ?? join(home, "api-token")
  })`,
);
const stop = async () => {
  approvals.close();
  await host.close();
  trust.save();
  await server.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
