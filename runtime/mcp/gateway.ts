/**
 * The MCP gateway: an MCP server runs as a governed child (a sandboxed worker process at a
 * ring, every raw operation through the permission broker), and the gateway stands between it
 * and an MCP client. Every `tools/call` is decided as `tool.call` (resource: the tool's name,
 * args: its arguments) and audited before the server sees it; `resources/read` and
 * `prompts/get` are decided as `mcp.resource.read` / `mcp.prompt.get`. Listings can hide what
 * the policy never allows. A refused tool call comes back as a tool result with `isError`, so
 * the model reads why. Requests from the server to the client are decided too (reverse.ts:
 * `mcp.sampling`, `mcp.elicitation`, `mcp.roots`); subscriptions are decided like reads
 * (subscriptions.ts); task-based tools are decided like plain calls (tasks.ts).
 *
 * Resource URIs are decided in normalized form (governance/policy/uri.ts) and forwarded in
 * exactly that form; one that cannot be normalized is refused. Every method a client sends is
 * in methods.ts: completions are decided against the prompt or template they complete,
 * template listings are filtered, and every resource that comes back (embedded resources and
 * resource links in tool and prompt results, the contents of a read) is decided; a denied one
 * is replaced by the refusal. Methods the gateway does not serve fail closed (audited).
 *
 * This file holds the gateway's life cycle; handlers.ts serves the methods and decisions.ts
 * decides them.
 */
import { requestTimeout } from "./methods.ts";
import { resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { ClientCapabilities, ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import type { Ring } from "../../governance/rings/mod.ts";
import type { ApprovalHandler } from "../governor.ts";
import type { AgentHandle, AgentHost } from "../host.ts";
import type { AgentExit } from "../host/types.ts";
import { pipeLines } from "../supervisor/output.ts";
import { McpDecisions } from "./decisions.ts";
import { wireHandlers } from "./handlers.ts";
import { DeferredTransport, type Upstream, upstreamCapabilities } from "./handshake.ts";
import { wireReverse } from "./reverse.ts";
import { wireSubscriptions } from "./subscriptions.ts";
import { taskCapabilities } from "./tasks.ts";
import { ProcessTransport, type StdioLimits } from "./transport.ts";

/** The MCP server to govern. */
export interface McpServerSpec {
  /**
   * A module path (TypeScript or JavaScript) or an `npm:` package, run as `deno task run`
   * runs an agent, not bundled: a local Node program (its `package.json`, its own
   * `node_modules`) in place from its package directory (supervisor/store.ts `localPackage`),
   * another local module as its module graph with its `npm:` imports installed in the package
   * store, an `npm:` package installed once in the package store and run from there.
   */
  module: string;
  /**
   * Bundle the server into one file first instead (default false). The bundle is one
   * strict-mode ES module: sloppy-mode CommonJS that relies on it fails (see bundle.ts).
   */
  bundle?: boolean;
  /** The server's own arguments (`process.argv` / `Deno.args`). */
  args?: string[];
  /**
   * Process environment for the server (each read is still an `env` check); `${workspace}` in
   * a value is the workspace's absolute path.
   */
  env?: Record<string, string>;
  /** Agent name (default: the module's or package's name). */
  name?: string;
  ring?: Ring;
  /** The server's working directory and the only tree it may write (a temp dir by default). */
  workspace?: string;
  labels?: Record<string, string>;
}

/** How the gateway runs its server and serves clients. */
export interface McpGatewayOptions {
  host: AgentHost;
  server: McpServerSpec;
  /** Hide tools and prompts the policy never allows from listings (default true). */
  hide?: boolean;
  /** Decides `require_approval` (without one, such calls are refused as not performed). */
  approvals?: ApprovalHandler;
  /** Longest a forwarded request may take (default 60 s). */
  requestTimeoutMs?: number;
  limits?: Partial<StdioLimits>;
  /** Diagnostics for people (the server's stderr, hidden tools, violations). */
  onNotice?: (line: string) => void;
}

/** The least time a server has to answer the handshake (its start-up included). */
const HANDSHAKE_TIMEOUT_MS = 30_000;

const CLIENT_INFO = { name: "warden-mcp-gateway", version: "1.0.0" };

/** A governed MCP server and the gateway in front of it. */
export class McpGateway {
  readonly handle: AgentHandle;
  /** The gateway's client toward the server: connected once a client has initialized. */
  client!: Client;
  #opts: McpGatewayOptions;
  #transport: ProcessTransport;
  #server: Server | null = null;
  #serving = false;
  /** What the gateway declared to the server (the client's, filtered by policy). */
  #upstream: Upstream | null = null;
  #closing: Promise<void> | null = null;
  #decisions: McpDecisions;
  /** The first uncaught error the server printed (why it died, in one line). */
  #failure: { line: string | null } = { line: null };

  private constructor(opts: McpGatewayOptions, handle: AgentHandle, transport: ProcessTransport) {
    this.#opts = opts;
    this.handle = handle;
    this.#decisions = new McpDecisions(opts, handle);
    this.#transport = transport;
  }

  /**
   * Start the server in its worker process. The MCP handshake with it waits for the first
   * client's `initialize` (handshake.ts): the server is told that client's capabilities.
   */
  static async start(opts: McpGatewayOptions): Promise<McpGateway> {
    const s = opts.server;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.env ?? {})) {
      if (v.includes("${workspace}") && !s.workspace) {
        throw new Error(`environment ${k}: \${workspace} needs a workspace (--workspace DIR)`);
      }
      env[k] = s.workspace ? v.replaceAll("${workspace}", resolve(s.workspace)) : v;
    }
    const handle = await opts.host.start({
      module: s.module,
      name: s.name,
      ring: s.ring ?? 2,
      workspace: s.workspace,
      labels: s.labels,
      args: s.args,
      processEnv: env,
      bundle: s.bundle === true,
      stdin: "piped",
      stdio: "piped",
    });
    const notice = opts.onNotice ?? (() => {});
    const failure = { line: null as string | null };
    pipeLines(handle.process.stderr, (l) => {
      failure.line ??= uncaught(l);
      notice(`${handle.name}: ${l}`);
    });
    const transport = new ProcessTransport(
      handle.process.stdin,
      handle.process.stdout,
      opts.limits,
    );
    transport.onviolation = (why) => {
      notice(`killing ${handle.name}: protocol violation: ${why}`);
      handle.kill(`MCP protocol violation: ${why}`).catch(() => {});
    };
    const gw = new McpGateway(opts, handle, transport);
    gw.#failure = failure;
    handle.exited.then(() => gw.close());
    return gw;
  }

  /** The handshake with the server, declaring the client's capabilities (filtered). */
  async #handshake(upstream: Upstream): Promise<void> {
    const { handle } = this;
    const client = new Client(CLIENT_INFO, { capabilities: upstream.capabilities });
    this.#upstream = upstream;
    client.onerror = (e: Error) => this.#opts.onNotice?.(`${handle.name}: ${e.message}`);
    this.client = client;
    try {
      await Promise.race([
        // A server's start-up is not a request: a short --request-timeout does not bound it.
        client.connect(this.#transport, {
          timeout: Math.max(requestTimeout(this.#opts), HANDSHAKE_TIMEOUT_MS),
        }),
        handle.exited.then((x) => {
          throw new Error(this.#exitedDuringHandshake(x));
        }),
      ]);
    } catch (e) {
      // The transport closing usually comes first: the exit says why.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const x = await Promise.race([
        handle.exited,
        new Promise<null>((r) => timer = setTimeout(() => r(null), 2_000)),
      ]);
      clearTimeout(timer);
      await handle.kill("MCP handshake failed").catch(() => {});
      if (x && !x.killed) throw new Error(this.#exitedDuringHandshake(x));
      throw e;
    }
  }

  /** One line: the server died before the handshake completed, and why. */
  #exitedDuringHandshake(x: AgentExit): string {
    const why = this.#failure.line;
    const bundled = this.#opts.server.bundle === true && why !== null &&
      /^ReferenceError: \S+ is not defined|^TypeError: .*(callee|strict mode|read[ -]only)/
        .test(why);
    return `the MCP server ${this.handle.name} exited during the handshake (${
      x.killed ? `killed: ${x.killed}` : `code ${x.code}`
    })${why ? `: ${why}` : ""}${
      bundled
        ? " (the bundle is one strict-mode ES module: code written for sloppy-mode CommonJS " +
          "fails there; start the server without --bundle)"
        : ""
    }`;
  }

  /** What the governed server offers that the gateway passes on. */
  capabilities(): ServerCapabilities {
    const c = this.client.getServerCapabilities() ?? {};
    const out: ServerCapabilities = {};
    if (c.tools) out.tools = { listChanged: c.tools.listChanged };
    if (c.resources) {
      out.resources = { listChanged: c.resources.listChanged, subscribe: c.resources.subscribe };
    }
    if (c.prompts) out.prompts = { listChanged: c.prompts.listChanged };
    if (c.logging) out.logging = {};
    if (c.completions) out.completions = {};
    if (c.tools && c.tasks) out.tasks = taskCapabilities(c.tasks);
    return out;
  }

  /**
   * Serve an MCP client on `transport` (stdio for `deno task mcp-gateway`). Returns once the
   * transport is started; the client's `initialize` then starts the handshake with the server.
   */
  async serve(transport: Transport): Promise<void> {
    if (this.#serving) throw new Error("the gateway is already serving a client");
    this.#serving = true;
    const held = new DeferredTransport(transport);
    await held.begin();
    held.first().then(async (m) => {
      const init = m as { method?: string; id?: string | number; params?: unknown };
      const caps = init.method === "initialize"
        ? (init.params as { capabilities?: ClientCapabilities } | undefined)?.capabilities
        : undefined;
      try {
        await this.#handshake(upstreamCapabilities(caps, this.#decisions));
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        this.#opts.onNotice?.(message);
        if (init.id !== undefined) {
          await transport.send({ jsonrpc: "2.0", id: init.id, error: { code: -32603, message } })
            .catch(() => {});
        }
        await this.close();
        return;
      }
      await this.#connect(held);
    }, () => this.close());
  }

  async #connect(transport: Transport): Promise<void> {
    const info = this.client.getServerVersion();
    const server = new Server(
      // The server's own description of itself (title, description, website, icons).
      { ...info, name: info?.name ?? this.handle.name, version: info?.version ?? "0.0.0" },
      { capabilities: this.capabilities(), instructions: this.client.getInstructions() },
    );
    this.#server = server;
    wireHandlers(server, this.client, this.#decisions, this.#opts);
    wireSubscriptions(server, this.client, this.#decisions, this.#opts);
    wireReverse(server, this.client, this.#decisions, this.#opts, this.#upstream!);
    server.onclose = () => this.close();
    await server.connect(transport);
  }

  /** Close the client side, stop the server process, and close the upstream connection. */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  async #close(): Promise<void> {
    await this.client?.close().catch(() => {});
    if (this.#opts.host.get(this.handle.id)) {
      // The session is over: a stop, not a kill for cause (no trust penalty for the server).
      await this.#opts.host.stop(this.handle.id, "MCP gateway closed").catch(() => {});
    }
    await this.#server?.close().catch(() => {});
  }
}

/** An uncaught error line as Deno prints it (`error: Uncaught (in promise) TypeError: …`). */
export function uncaught(line: string): string | null {
  // deno-lint-ignore no-control-regex
  const plain = line.replace(/\x1b\[[0-9;]*m/g, "").trim();
  const m = /^error: (?:Uncaught )?(?:\(in promise\) )?(.+)$/.exec(plain);
  return m ? m[1].slice(0, 300) : null;
}
