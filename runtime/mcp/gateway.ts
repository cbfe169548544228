/**
 * The MCP gateway: an MCP server runs as a governed child (a sandboxed worker process at a
 * ring, every raw operation through the permission broker), and the gateway stands between it
 * and an MCP client. Every `tools/call` is decided as `tool.call` (resource: the tool's name,
 * args: its arguments) and audited before the server sees it; `resources/read` and
 * `prompts/get` are decided as `mcp.resource.read` / `mcp.prompt.get`. Listings can hide what
 * the policy never allows. A refused tool call comes back as a tool result with `isError`, so
 * the model reads why. Requests from the server to the client (sampling, elicitation, roots)
 * are not offered: the gateway's client side declares no capabilities.
 */
import { resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  type CompleteRequest,
  CompleteRequestSchema,
  ErrorCode,
  type GetPromptRequest,
  GetPromptRequestSchema,
  type ListPromptsRequest,
  ListPromptsRequestSchema,
  type ListResourcesRequest,
  ListResourcesRequestSchema,
  type ListResourceTemplatesRequest,
  ListResourceTemplatesRequestSchema,
  type ListToolsRequest,
  ListToolsRequestSchema,
  type LoggingMessageNotification,
  LoggingMessageNotificationSchema,
  McpError,
  type Progress,
  PromptListChangedNotificationSchema,
  type ReadResourceRequest,
  ReadResourceRequestSchema,
  ResourceListChangedNotificationSchema,
  type ResourceUpdatedNotification,
  ResourceUpdatedNotificationSchema,
  type ServerCapabilities,
  type SetLevelRequest,
  SetLevelRequestSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { Ring } from "../../governance/rings/mod.ts";
import { type ApprovalHandler, settle } from "../gateway/gateway.ts";
import { type Refusal, refusalLine } from "../../sdk/adapters/refusal.ts";
import type { Ask } from "../governor.ts";
import type { AgentHandle, AgentHost } from "../host.ts";
import { pipeLines } from "../supervisor/output.ts";
import { ProcessTransport, type StdioLimits } from "./transport.ts";

/** The MCP server to govern. */
export interface McpServerSpec {
  /** A module path (TypeScript or JavaScript) or an `npm:` package; bundled before it starts. */
  module: string;
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

/** What a request handler uses of the SDK's per-request extra. */
type Extra = {
  signal: AbortSignal;
  sendNotification: (n: { method: string; params: Record<string, unknown> }) => Promise<void>;
};

const CLIENT_INFO = { name: "warden-mcp-gateway", version: "1.0.0" };

/** A governed MCP server and the gateway in front of it. */
export class McpGateway {
  readonly handle: AgentHandle;
  readonly client: Client;
  #opts: McpGatewayOptions;
  #server: Server | null = null;
  #closing: Promise<void> | null = null;
  #hiddenSeen = new Set<string>();

  private constructor(opts: McpGatewayOptions, handle: AgentHandle, client: Client) {
    this.#opts = opts;
    this.handle = handle;
    this.client = client;
  }

  /** Start the server in its worker process and complete the MCP handshake with it. */
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
      bundle: true,
      stdin: "piped",
      stdio: "piped",
    });
    const notice = opts.onNotice ?? (() => {});
    pipeLines(handle.process.stderr, (l) => notice(`${handle.name}: ${l}`));
    const transport = new ProcessTransport(
      handle.process.stdin,
      handle.process.stdout,
      opts.limits,
    );
    transport.onviolation = (why) => {
      notice(`killing ${handle.name}: protocol violation: ${why}`);
      handle.kill(`MCP protocol violation: ${why}`).catch(() => {});
    };
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    client.onerror = (e: Error) => notice(`${handle.name}: ${e.message}`);
    const gw = new McpGateway(opts, handle, client);
    const timeout = opts.requestTimeoutMs ?? 60_000;
    try {
      await Promise.race([
        client.connect(transport, { timeout }),
        handle.exited.then((x) => {
          throw new Error(
            `the MCP server ${handle.name} exited during the handshake (${
              x.killed ? `killed: ${x.killed}` : `code ${x.code}`
            })`,
          );
        }),
      ]);
    } catch (e) {
      await handle.kill("MCP handshake failed").catch(() => {});
      throw e;
    }
    handle.exited.then(() => gw.close());
    return gw;
  }

  /** What the governed server offers that the gateway passes on. */
  capabilities(): ServerCapabilities {
    const c = this.client.getServerCapabilities() ?? {};
    const out: ServerCapabilities = {};
    if (c.tools) out.tools = { listChanged: c.tools.listChanged };
    if (c.resources) {
      out.resources = { listChanged: c.resources.listChanged, subscribe: false };
    }
    if (c.prompts) out.prompts = { listChanged: c.prompts.listChanged };
    if (c.logging) out.logging = {};
    if (c.completions) out.completions = {};
    return out;
  }

  /** Serve MCP clients on `transport` (stdio for `deno task mcp-gateway`). */
  async serve(transport: Transport): Promise<void> {
    if (this.#server) throw new Error("the gateway is already serving a client");
    const info = this.client.getServerVersion();
    const server = new Server(
      { name: info?.name ?? this.handle.name, version: info?.version ?? "0.0.0" },
      { capabilities: this.capabilities(), instructions: this.client.getInstructions() },
    );
    this.#server = server;
    this.#wire(server);
    server.onclose = () => this.close();
    await server.connect(transport);
  }

  #ask(action: string, resource: string, args: Record<string, unknown> = {}): Ask {
    return { path: "mcp", action, resource, args, context: { mcp: this.handle.name } };
  }

  /** Could the policy ever allow this (for hiding)? */
  #visible(action: string, resource: string): boolean {
    if (this.#opts.hide === false) return true;
    const ok = this.#opts.host.governor.couldAllow(this.handle.ref, this.#ask(action, resource));
    if (!ok && !this.#hiddenSeen.has(`${action} ${resource}`)) {
      this.#hiddenSeen.add(`${action} ${resource}`);
      this.#opts.onNotice?.(`hidden from listings (the policy never allows it): ${resource}`);
    }
    return ok;
  }

  /** Decide and audit; null when allowed, else the refusal as one readable line. */
  async #refusal(ask: Ask, what: string): Promise<string | null> {
    const { governor } = this.#opts.host;
    let no: Refusal | null;
    try {
      no = await settle(governor, this.handle.ref, ask, this.#opts.approvals);
    } catch (e) {
      // An approval handler that fails decides nothing: refused (fail closed).
      no = { code: "failed", rule: null, message: `approval failed: ${(e as Error).message}` };
    }
    governor.audit.commit(); // the decision is written before the client hears of it
    return no ? refusalLine(what, no) : null;
  }

  #wire(server: Server): void {
    const c = this.client;
    const caps = c.getServerCapabilities() ?? {};
    const timeout = this.#opts.requestTimeoutMs ?? 60_000;
    if (caps.tools) {
      server.setRequestHandler(
        ListToolsRequestSchema,
        async (req: ListToolsRequest, extra: Extra) => {
          const r = await c.listTools(req.params, { signal: extra.signal, timeout });
          return {
            ...r,
            tools: r.tools.filter((t: { name: string }) => this.#visible("tool.call", t.name)),
          };
        },
      );
      server.setRequestHandler(
        CallToolRequestSchema,
        async (req: CallToolRequest, extra: Extra) => {
          const { name } = req.params;
          const args = req.params.arguments ?? {};
          const no = await this.#refusal(
            this.#ask("tool.call", name, args),
            `tool ${JSON.stringify(name)}`,
          );
          if (no !== null) {
            return { isError: true, content: [{ type: "text", text: no }] } as CallToolResult;
          }
          // Progress the server reports goes on to the client under the client's own token.
          const token = req.params._meta?.progressToken;
          return await c.callTool(req.params, undefined, {
            signal: extra.signal,
            timeout,
            ...(token === undefined ? {} : {
              resetTimeoutOnProgress: true,
              onprogress: (p: Progress) =>
                extra.sendNotification({
                  method: "notifications/progress",
                  params: { ...p, progressToken: token },
                }).catch(() => {}),
            }),
          });
        },
      );
      c.setNotificationHandler(
        ToolListChangedNotificationSchema,
        () => server.sendToolListChanged(),
      );
    }
    if (caps.resources) {
      server.setRequestHandler(
        ListResourcesRequestSchema,
        async (req: ListResourcesRequest, extra: Extra) => {
          const r = await c.listResources(req.params, { signal: extra.signal, timeout });
          return {
            ...r,
            resources: r.resources.filter((x: { uri: string }) =>
              this.#visible("mcp.resource.read", x.uri)
            ),
          };
        },
      );
      server.setRequestHandler(
        ListResourceTemplatesRequestSchema,
        (req: ListResourceTemplatesRequest, extra: Extra) =>
          c.listResourceTemplates(req.params, { signal: extra.signal, timeout }),
      );
      server.setRequestHandler(
        ReadResourceRequestSchema,
        async (req: ReadResourceRequest, extra: Extra) => {
          const { uri } = req.params;
          const no = await this.#refusal(this.#ask("mcp.resource.read", uri), `resource ${uri}`);
          if (no !== null) throw new McpError(ErrorCode.InvalidRequest, no);
          return await c.readResource(req.params, { signal: extra.signal, timeout });
        },
      );
      c.setNotificationHandler(
        ResourceListChangedNotificationSchema,
        () => server.sendResourceListChanged(),
      );
      c.setNotificationHandler(
        ResourceUpdatedNotificationSchema,
        (n: ResourceUpdatedNotification) => server.sendResourceUpdated(n.params),
      );
    }
    if (caps.prompts) {
      server.setRequestHandler(
        ListPromptsRequestSchema,
        async (req: ListPromptsRequest, extra: Extra) => {
          const r = await c.listPrompts(req.params, { signal: extra.signal, timeout });
          return {
            ...r,
            prompts: r.prompts.filter((p: { name: string }) =>
              this.#visible("mcp.prompt.get", p.name)
            ),
          };
        },
      );
      server.setRequestHandler(
        GetPromptRequestSchema,
        async (req: GetPromptRequest, extra: Extra) => {
          const { name } = req.params;
          const args = req.params.arguments ?? {};
          const no = await this.#refusal(
            this.#ask("mcp.prompt.get", name, args),
            `prompt ${JSON.stringify(name)}`,
          );
          if (no !== null) throw new McpError(ErrorCode.InvalidRequest, no);
          return await c.getPrompt(req.params, { signal: extra.signal, timeout });
        },
      );
      c.setNotificationHandler(
        PromptListChangedNotificationSchema,
        () => server.sendPromptListChanged(),
      );
    }
    if (caps.logging) {
      server.setRequestHandler(
        SetLevelRequestSchema,
        async (req: SetLevelRequest, extra: Extra) => {
          await c.setLoggingLevel(req.params.level, { signal: extra.signal, timeout });
          return {};
        },
      );
      c.setNotificationHandler(
        LoggingMessageNotificationSchema,
        (n: LoggingMessageNotification) => server.sendLoggingMessage(n.params),
      );
    }
    if (caps.completions) {
      server.setRequestHandler(
        CompleteRequestSchema,
        (req: CompleteRequest, extra: Extra) =>
          c.complete(req.params, { signal: extra.signal, timeout }),
      );
    }
  }

  /** Close the client side, stop the server process, and close the upstream connection. */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  async #close(): Promise<void> {
    await this.client.close().catch(() => {});
    if (this.#opts.host.get(this.handle.id)) {
      await this.handle.kill("MCP gateway closed").catch(() => {});
    }
    await this.#server?.close().catch(() => {});
  }
}
