/**
 * `deno task mcp-gateway --server "<command>" [--policy FILE|DIR]... [--ring 0-3]
 *   [--name NAME] [--workspace DIR] [--env NAME=VALUE]... [--audit FILE] [--show-all]
 *   [--kill-after-denials N] [--timeout MS] [--request-timeout MS] [--bundle] [--verbose]
 *   [--http [HOST:]PORT
 *   [--token-file FILE]]`
 *
 * Runs an MCP server as a governed child (a sandboxed worker process at a ring) and serves it
 * to an MCP client over this process's stdio (or streamable HTTP with `--http`). Standard output carries only MCP messages;
 * decisions and diagnostics go to standard error. Exit code: 0 when the client or the server
 * ended the session, 1 for a configuration error, 2 for a usage error, the server's own code
 * when it exits, 137 when it was killed.
 */
import process from "node:process";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { Ring } from "../../governance/rings/mod.ts";
import { AgentHost } from "../host.ts";
import { defaultKeystoreDir, Keystore } from "../identity/keystore.ts";
import { parseServerCommand } from "../mcp/command.ts";
import { McpGateway } from "../mcp/gateway.ts";
import { type HttpServed, serveHttp } from "../mcp/http.ts";
import { wardenHome } from "../state.ts";
import { dirname, join } from "node:path";
import { loadPolicy, loadRings } from "../policy/loader.ts";
import { describe, noteworthy } from "./args.ts";
import {
  CliError,
  type CliSpec,
  command,
  type Ctx,
  intFlag,
  runCli,
  UsageError,
} from "./runner.ts";
import { existingDir, writableFile } from "./paths.ts";
import { SANDBOX_FLAGS, SANDBOX_USAGE, sandboxFromFlags } from "../supervisor/sandbox/mode.ts";

const ARGS = `--server "<command>" [--policy FILE|DIR]... [--ring 0-3]
       [--name NAME] [--workspace DIR] [--env NAME=VALUE]... [--audit FILE] [--keystore DIR]
       [--show-all] [--kill-after-denials N] [--timeout MS] [--request-timeout MS]
       [--bundle] [--verbose] [--http [HOST:]PORT [--token-file FILE]]
       [--unsafe-no-sandbox [--unsafe-allow-unconfined-rings]]`;
const HELP = `
  --server    the MCP server's command line: a .ts/.js module, "deno run …", "node …",
              "tsx <file.ts>", "npm:<package>@<version>" or "npx <package>@<version>"
              (installed once in the package store; without a version, the one deno.json
              pins). Nothing is bundled:
              a local Node program runs in place from its package directory (its own
              package.json, data files and node_modules), a local module's npm: imports
              are installed in the package store
  --bundle    bundle the server into one file first instead (from deno.json and its
              lockfile). The bundle is one strict-mode ES module: sloppy-mode CommonJS
              ("with", "delete x") refuses to bundle, and code that assigns undeclared
              variables or reads arguments.callee fails when it runs
  --http [HOST:]PORT
              serve MCP's streamable-HTTP transport at http://HOST:PORT/mcp (HOST
              127.0.0.1 by default) instead of stdio; clients send Authorization: Bearer
              <token>, the token read from --token-file (default $WARDEN_HOME/mcp-token,
              created 0600 with a random token when absent)
  --show-all  list every tool and prompt, also those the policy never allows
  --kill-after-denials N
              kill the server (ending the session) after N denials within a minute
  --request-timeout MS
              longest one forwarded MCP request may take (default 60000); progress the
              server reports on it resets the clock
${SANDBOX_USAGE}`;

const DEFAULT_POLICY = new URL("../../policies/agents.yaml", import.meta.url).pathname;

function fail(msg: string): never {
  throw new CliError(`mcp-gateway: ${msg}`);
}

const OPTIONS = {
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
  "request-timeout": { type: "string" },
  verbose: { type: "boolean" },
  bundle: { type: "boolean" },
  http: { type: "string" },
  "token-file": { type: "string" },
  ...SANDBOX_FLAGS,
} as const;

async function main({ values: o }: Ctx<typeof OPTIONS>): Promise<number> {
  if (!o.server) throw new UsageError(`--server "<command>" is required`);
  const ring = (intFlag("ring", o.ring, 0, 3) ?? 2) as Ring;
  const denials = intFlag("kill-after-denials", o["kill-after-denials"], 1, 1_000_000);
  const sandbox = sandboxFromFlags(o);
  if (typeof sandbox === "string") throw new UsageError(sandbox);
  const timeoutMs = intFlag("timeout", o.timeout, 1, 86_400_000);
  const requestTimeoutMs = intFlag("request-timeout", o["request-timeout"], 1, 86_400_000);
  const listen = o.http === undefined ? undefined : hostPort(o.http);
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
    if (i <= 0) throw new UsageError(`--env: expected NAME=VALUE, got "${kv}"`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  if (o.workspace !== undefined) existingDir(o.workspace, "--workspace", { mayBeAbsent: true });
  const policy = loadPolicy(o.policy?.length ? o.policy : [DEFAULT_POLICY], { builtin: true });
  const rings = loadRings();
  if (o.audit !== undefined) writableFile(o.audit, "--audit");
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
    if (noteworthy(e) || o.verbose || e.path === "mcp") console.error(describe(e));
  });
  let gw: McpGateway;
  try {
    gw = await McpGateway.start({
      host,
      server: {
        module: command.module,
        bundle: o.bundle === true,
        args: command.args,
        env,
        name: o.name,
        ring,
        workspace: o.workspace,
      },
      hide: !o["show-all"],
      requestTimeoutMs,
      onNotice: (l) => console.error(`mcp-gateway: ${l}`),
    });
  } catch (e) {
    await host.close();
    fail(e instanceof Error ? e.message : String(e));
  }
  let http: HttpServed | undefined;
  if (listen) {
    const token = mcpToken(o["token-file"]);
    try {
      http = await serveHttp(gw, { ...listen, token });
    } catch (e) {
      await gw.close();
      await host.close();
      fail(`--http: ${e instanceof Error ? e.message : e}`);
    }
  }
  console.error(
    `mcp-gateway: serving ${gw.handle.name} (pid ${gw.handle.pid}, ring ${ring}) on ${
      http ? http.url : "stdio"
    }`,
  );
  const timer = timeoutMs === undefined
    ? undefined
    : setTimeout(() => gw.handle.kill(`timeout: ${timeoutMs} ms`).catch(() => {}), timeoutMs);
  const stop = (sig: string) => () => gw.handle.kill(`operator interrupt (${sig})`).catch(() => {});
  const onInt = stop("SIGINT"), onTerm = stop("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  if (!http) await gw.serve(new StdioServerTransport());
  // The session ends when the client closes our stdin (stdio) or the server process ends.
  const ended = await Promise.race([gw.handle.exited, ...(http ? [] : [stdinClosed()])]);
  await http?.close();
  if (timer !== undefined) clearTimeout(timer);
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGTERM", onTerm);
  await gw.close();
  await host.close();
  if (!ended) return 0;
  return ended.killed ? 137 : ended.code;
}

/** `--http [HOST:]PORT`: loopback unless a host is named. */
function hostPort(v: string): { hostname: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--http: expected [HOST:]PORT, got "${v}"`);
  return { hostname: m[1]?.replace(/^\[|\]$/g, "") ?? "127.0.0.1", port };
}

/** The HTTP bearer token: read from the file, or created there (0600) when it is absent. */
function mcpToken(file: string | undefined): string {
  const path = file ?? join(wardenHome(), "mcp-token");
  try {
    const token = Deno.readTextFileSync(path).trim();
    if (token.length < 16) fail(`--token-file ${path}: the token must be at least 16 characters`);
    return token;
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (!(e instanceof Deno.errors.NotFound)) {
      fail(`--token-file ${path}: ${e instanceof Error ? e.message : e}`);
    }
  }
  const token = Array.from(crypto.getRandomValues(new Uint8Array(24)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  Deno.writeTextFileSync(path, token + "\n", { mode: 0o600, createNew: true });
  console.error(`mcp-gateway: wrote a new HTTP token to ${path}`);
  return token;
}

/** Resolves when this process's stdin reaches end of file (the MCP client went away). */
function stdinClosed(): Promise<null> {
  return new Promise((resolve) => {
    process.stdin.once("end", () => resolve(null));
    process.stdin.once("close", () => resolve(null));
  });
}

/** `deno task mcp-gateway`. */
export const spec: CliSpec = {
  name: "mcp-gateway",
  command: command({
    args: ARGS,
    help: HELP,
    options: OPTIONS,
    files: [{ args: (p) => ["--server", "examples/mcp/notes.ts", "--policy", p], ext: ".yaml" }],
    main,
  }),
};

if (import.meta.main) await runCli(spec);
