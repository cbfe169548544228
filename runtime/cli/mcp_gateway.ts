/**
 * `deno task mcp-gateway --server "<command>" [--policy FILE|DIR]... [--ring 0-3]
 *   [--name NAME] [--workspace DIR] [--env NAME=VALUE]... [--audit FILE] [--show-all]
 *   [--kill-after-denials N] [--timeout MS] [--verbose]`
 *
 * Runs an MCP server as a governed child (a sandboxed worker process at a ring) and serves it
 * to an MCP client over this process's stdio. Standard output carries only MCP messages;
 * decisions and diagnostics go to standard error. Exit code: 0 when the client or the server
 * ended the session, 1 for a configuration error, 137 when the server was killed.
 */
import process from "node:process";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { formatProblem, PolicyError } from "../../governance/mod.ts";
import type { Ring } from "../../governance/rings/mod.ts";
import { AgentHost } from "../host.ts";
import { defaultKeystoreDir, Keystore } from "../identity/keystore.ts";
import { parseServerCommand } from "../mcp/command.ts";
import { McpGateway } from "../mcp/gateway.ts";
import { loadPolicy, loadRings } from "../policy/loader.ts";
import { describe, intFlag, parseCli } from "./args.ts";
import { SANDBOX_FLAGS, SANDBOX_USAGE, sandboxFromFlags } from "../supervisor/sandbox/mode.ts";

const USAGE = `usage: deno task mcp-gateway --server "<command>" [--policy FILE|DIR]... [--ring 0-3]
       [--name NAME] [--workspace DIR] [--env NAME=VALUE]... [--audit FILE] [--keystore DIR]
       [--show-all] [--kill-after-denials N] [--timeout MS] [--verbose]
       [--unsafe-no-sandbox [--unsafe-allow-unconfined-rings]]

  --server    the MCP server's command line: a .ts/.js module, "deno run …", "node …",
              "npm:<package>" or "npx <package>" (packages come from deno.json and its lockfile)
  --show-all  list every tool and prompt, also those the policy never allows
  --kill-after-denials N
              kill the server (ending the session) after N denials within a minute
${SANDBOX_USAGE}`;

const DEFAULT_POLICY = new URL("../../policies/agents.yaml", import.meta.url).pathname;

function fail(msg: string): never {
  console.error(`mcp-gateway: ${msg}`);
  Deno.exit(1);
}

const int = (name: string, v: string | undefined, min: number, max: number) =>
  intFlag(name, v, min, max, fail);

async function main(): Promise<number> {
  const parsed = parseCli({
    server: { type: "string" },
    policy: { type: "string", multiple: true },
    ring: { type: "string" },
    name: { type: "string" },
    workspace: { type: "string" },
    env: { type: "string", multiple: true },
    audit: { type: "string" },
    keystore: { type: "string" },
    "show-all": { type: "boolean" },
    "kill-after-denials": { type: "string" },
    timeout: { type: "string" },
    verbose: { type: "boolean" },
    help: { type: "boolean" },
    ...SANDBOX_FLAGS,
  }, USAGE);
  if (!parsed) return 2;
  const { values: o, positionals } = parsed;
  if (o.help) {
    console.error(USAGE);
    return 0;
  }
  if (!o.server || positionals.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const ring = (int("ring", o.ring, 0, 3) ?? 2) as Ring;
  const denials = int("kill-after-denials", o["kill-after-denials"], 1, 1_000_000);
  const sandbox = sandboxFromFlags(o);
  if (typeof sandbox === "string") fail(sandbox);
  const timeoutMs = int("timeout", o.timeout, 1, 86_400_000);
  let command;
  try {
    command = parseServerCommand(o.server);
  } catch (e) {
    fail(`--server: ${(e as Error).message}`);
  }
  const ignored = command.dropped.filter((f) => f !== "-y" && f !== "--yes");
  if (ignored.length > 0) {
    console.error(
      `mcp-gateway: ignoring ${ignored.join(" ")} (ring ${ring} and the policy decide permissions)`,
    );
  }
  const env: Record<string, string> = {};
  for (const kv of o.env ?? []) {
    const i = kv.indexOf("=");
    if (i <= 0) fail(`--env: expected NAME=VALUE, got "${kv}"`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  let policy, rings;
  try {
    policy = loadPolicy(o.policy?.length ? o.policy : [DEFAULT_POLICY], { builtin: true });
    rings = loadRings();
  } catch (e) {
    if (e instanceof PolicyError) {
      console.error(e.problems.map(formatProblem).join("\n"));
      return 1;
    }
    fail(`configuration: ${e instanceof Error ? e.message : e}`);
  }
  let signer, keystore;
  try {
    keystore = new Keystore(
      o.keystore ?? defaultKeystoreDir(),
      Deno.env.get("WARDEN_KEY_PASSPHRASE"),
    );
    if (o.audit) signer = await keystore.signer("host");
  } catch (e) {
    fail(`keystore: ${e instanceof Error ? e.message : e}`);
  }
  const host = new AgentHost({
    policy,
    rings,
    auditPath: o.audit,
    signer,
    keystore,
    killOnDenials: denials ? { count: denials, windowMs: 60_000 } : null,
    ...sandbox,
    onEvent: (e) => {
      if (e.type === "kill") console.error(`warden: KILLED ${e.agent}: ${e.reason}`);
    },
  });
  host.audit.subscribe((e) => {
    if (e.effect !== "allow" || o.verbose || e.path === "mcp") console.error(describe(e));
  });
  let gw: McpGateway;
  try {
    gw = await McpGateway.start({
      host,
      server: {
        module: command.module,
        args: command.args,
        env,
        name: o.name,
        ring,
        workspace: o.workspace,
      },
      hide: !o["show-all"],
      onNotice: (l) => console.error(`mcp-gateway: ${l}`),
    });
  } catch (e) {
    await host.close();
    fail(e instanceof Error ? e.message : String(e));
  }
  console.error(
    `mcp-gateway: serving ${gw.handle.name} (pid ${gw.handle.pid}, ring ${ring}) on stdio`,
  );
  const timer = timeoutMs === undefined
    ? undefined
    : setTimeout(() => gw.handle.kill(`timeout: ${timeoutMs} ms`).catch(() => {}), timeoutMs);
  const stop = (sig: string) => () => gw.handle.kill(`operator interrupt (${sig})`).catch(() => {});
  const onInt = stop("SIGINT"), onTerm = stop("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  await gw.serve(new StdioServerTransport());
  // The session ends when the client closes our stdin or the server process ends.
  const ended = await Promise.race([gw.handle.exited, stdinClosed()]);
  if (timer !== undefined) clearTimeout(timer);
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGTERM", onTerm);
  await gw.close();
  await host.close();
  if (!ended) return 0;
  return ended.killed ? 137 : ended.code;
}

/** Resolves when this process's stdin reaches end of file (the MCP client went away). */
function stdinClosed(): Promise<null> {
  return new Promise((resolve) => {
    process.stdin.once("end", () => resolve(null));
    process.stdin.once("close", () => resolve(null));
  });
}

if (import.meta.main) Deno.exit(await main());
