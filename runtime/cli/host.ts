/**
 * `deno task host [--port N] [--policy FILE|DIR]... [--audit FILE] [--tokens FILE]`: a
 * long-running host with the control-plane API (and console) on 127.0.0.1. Without --tokens an
 * admin token is generated and written to <warden home>/api-token (0600).
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
import { wardenHome } from "../state.ts";

const Tokens = z.array(
  z.strictObject({
    token: z.string().min(16),
    name: z.string().min(1),
    role: z.enum(["viewer", "operator", "admin"]),
  }),
);
const USAGE =
  "usage: deno task host [--port N] [--policy FILE|DIR]... [--audit FILE] [--tokens FILE]";
const DEFAULT_POLICY = new URL("../../policies/agents.yaml", import.meta.url).pathname;
const CONSOLE = new URL("../server/console.html", import.meta.url).pathname;

function fail(msg: string): never {
  console.error(msg);
  Deno.exit(1);
}

const parsed = parseCli({
  port: { type: "string", default: "7420" },
  policy: { type: "string", multiple: true },
  audit: { type: "string" },
  tokens: { type: "string" },
}, USAGE);
if (!parsed) Deno.exit(2);
if (parsed.positionals.length > 0) {
  console.error(`unexpected argument "${parsed.positionals[0]}"\n${USAGE}`);
  Deno.exit(2);
}
const { values: o } = parsed;
const home = wardenHome();
Deno.mkdirSync(home, { recursive: true, mode: 0o700 });
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
let tokens;
if (o.tokens) {
  try {
    tokens = Tokens.parse(JSON.parse(Deno.readTextFileSync(o.tokens)));
  } catch (e) {
    fail(`${o.tokens}: ${e instanceof z.ZodError ? e.issues[0].message : (e as Error).message}`);
  }
} else {
  const token = crypto.randomUUID().replaceAll("-", "") + crypto.randomUUID().replaceAll("-", "");
  Deno.writeTextFileSync(join(home, "api-token"), token + "\n", { mode: 0o600 });
  tokens = [{ token, name: "local-admin", role: "admin" as const }];
}
const keystore = new Keystore(join(home, "keys"), Deno.env.get("WARDEN_KEY_PASSPHRASE"));
const host = new AgentHost({
  policy,
  rings: loadRings(),
  auditPath: o.audit ?? join(home, "audit.jsonl"),
  signer: await keystore.signer("host"),
  keystore,
  tools: registerBuiltinTools(new ToolRegistry()),
  sagaJournal: new FileSagaJournal(journalPath(home)),
  sre: { statusPath: join(home, "sre-status.json") },
});
const approvals = new ApprovalQueue(host.governor);
host.setApprovalHandler(approvals.handler);
host.resumeSagas().catch(() => {});
let consoleHtml: string | undefined;
try {
  consoleHtml = Deno.readTextFileSync(CONSOLE);
} catch { /* no console page in this build */ }
const app = controlPlane(host, { tokens, approvals, policyPaths, consoleHtml });
const server = Deno.serve({
  hostname: "127.0.0.1",
  port: Number(o.port),
  onListen: ({ port }) => {
    console.log(
      `warden host: control plane on http://127.0.0.1:${port} (token in ${
        o.tokens ?? join(home, "api-token")
      })`,
    );
  },
}, app.fetch);
const stop = async () => {
  approvals.close();
  await host.close();
  await server.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
