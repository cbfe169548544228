/**
 * The MCP gateway: an MCP server runs as a governed child (a sandboxed worker process at a
 * ring, every raw operation through the permission broker), and the gateway stands between it
 * and an MCP client. Every `tools/call` is decided as `tool.call` (resource: the tool's name,
 * args: its arguments) and audited before the server sees it; `resources/read` and
 * `prompts/get` are decided as `mcp.resource.read` / `mcp.prompt.get`. Listings can hide what
 * the policy never allows. A refused tool call comes back as a tool result with `isError`, so
 * the model reads why. Requests from the server to the client (sampling, elicitation, roots)
 * are not offered: the gateway's client side declares no capabilities.
 *
 * Resource URIs are decided in normalized form (governance/policy/uri.ts) and forwarded in
 * exactly that form; one that cannot be normalized is refused. Every method a client sends is
 * in methods.ts: completions are decided against the prompt or template they complete,
 * template listings are filtered, and every resource that comes back (embedded resources and
 * resource links in tool and prompt results, the contents of a read) is decided; a denied one
 * is replaced by the refusal. Methods the gateway does not serve fail closed (audited).
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
  type CompleteResult,
  ErrorCode,
  type GetPromptRequest,
  GetPromptRequestSchema,
  type JSONRPCNotification,
  type JSONRPCRequest,
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
  ResourceUpdatedNotificationSchema,
  type ServerCapabilities,
  type SetLevelRequest,
  SetLevelRequestSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { Ring } from "../../governance/rings/mod.ts";
import { normalizeUri, templateShape } from "../../governance/policy/uri.ts";
import { type ApprovalHandler, toRefusal } from "../governor.ts";
import { refusalLine } from "../../sdk/adapters/refusal.ts";
import type { Ask } from "../governor.ts";
import type { AgentHandle, AgentHost } from "../host.ts";
import { pipeLines } from "../supervisor/output.ts";
import { ProcessTransport, type StdioLimits } from "./transport.ts";
import { GOVERNED_METHODS } from "./methods.ts";

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
/** Distinct resource URIs decided in one result; more are refused without a decision each. */
const MAX_EMBEDDED = 256;

/** A decided resource URI: its normalized form (raw when it has none) and the refusal line. */
type Decided = { uri: string; no: string | null };
/** The resources of one result decided so far. */
type Seen = { uris: Map<string, Decided>; over: number };

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
    if (!ok) this.#hidden(resource);
    return ok;
  }

  #hidden(what: string): void {
    // Said once per name, and not without end (a server may list names without end).
    if (this.#hiddenSeen.has(what) || this.#hiddenSeen.size >= 1000) return;
    this.#hiddenSeen.add(what);
    this.#opts.onNotice?.(`hidden from listings (the policy never allows it): ${what}`);
  }

  /**
   * Decide and audit; null when allowed, else the refusal as one readable line. `approve`
   * false: a `require_approval` is not sent to the approval handler (a resource embedded in a
   * result cannot wait for a human) and is refused as held.
   */
  async #refusal(
    ask: Ask,
    what: string,
    extra?: Record<string, unknown>,
    approve = true,
  ): Promise<string | null> {
    const { refused } = await this.#opts.host.governor.authorize(this.handle.ref, ask, {
      approvals: approve ? this.#opts.approvals : undefined,
      extra,
    });
    return refused ? refusalLine(what, toRefusal(refused)) : null;
  }

  /** Audit a refusal made here (no policy rule) and return its line. */
  #refuse(ask: Ask, what: string, reason: string, extra: Record<string, unknown>): string {
    const { governor } = this.#opts.host;
    governor.record(this.handle.ref, ask, { effect: "deny", rule: null, reason }, extra);
    return refusalLine(what, { code: "denied", rule: null, message: reason, ruleReason: null });
  }

  /**
   * Decide a resource URI as `mcp.resource.read` on its normalized form (what the server then
   * receives). `uri` is the normalized form, or the raw one (escaped) when it has none.
   */
  async #decideUri(
    raw: string,
    method: string,
    approve = true,
  ): Promise<Decided> {
    const n = normalizeUri(raw);
    if (!n.ok) {
      const shown = JSON.stringify(raw.slice(0, 200)).slice(1, -1) + (raw.length > 200 ? "…" : "");
      const no = this.#refuse(
        this.#ask("mcp.resource.read", raw),
        `resource ${shown}`,
        `the URI cannot be normalized (fail closed): ${n.reason}`,
        { method },
      );
      return { uri: raw, no };
    }
    const no = await this.#refusal(
      this.#ask("mcp.resource.read", n.uri),
      `resource ${n.uri}`,
      { method },
      approve,
    );
    return { uri: n.uri, no };
  }

  /**
   * Decide every resource that comes back in content blocks (tool results, prompt messages):
   * an embedded resource or resource link whose URI is denied becomes a text block with the
   * refusal; one that is allowed comes back with its URI in normalized form. Blocks of a type
   * MCP does not define are replaced too (they could carry anything). Each distinct URI is
   * decided once per result, at most MAX_EMBEDDED of them; the rest are refused unread.
   */
  async #filterBlocks(blocks: unknown[], method: string): Promise<unknown[]> {
    const seen: Seen = { uris: new Map(), over: 0 };
    const out: unknown[] = [];
    for (const b of blocks) out.push(await this.#filterBlock(b, method, seen));
    this.#overflow(seen, method);
    return out;
  }

  /** One audited refusal for the resources of a result beyond MAX_EMBEDDED. */
  #overflow(seen: Seen, method: string): void {
    if (seen.over === 0) return;
    this.#refuse(
      this.#ask("mcp.resource.read", `(${seen.over} more resources)`),
      "resources",
      `more than ${MAX_EMBEDDED} distinct resources in one result (fail closed)`,
      { method },
    );
  }

  /** Decide one resource of a result (each distinct URI once). */
  async #seenUri(raw: string, method: string, seen: Seen): Promise<Decided | null> {
    let d = seen.uris.get(raw);
    if (!d) {
      if (seen.uris.size >= MAX_EMBEDDED) {
        seen.over++;
        return null;
      }
      d = await this.#decideUri(raw, method, false);
      seen.uris.set(raw, d);
    }
    return d;
  }

  async #filterBlock(b: unknown, method: string, seen: Seen): Promise<unknown> {
    const block = (b ?? {}) as { type?: unknown; uri?: unknown; resource?: { uri?: unknown } };
    const text = (t: string) => ({ type: "text", text: t });
    switch (block.type) {
      case "text":
      case "image":
      case "audio":
        return b;
      case "resource":
      case "resource_link": {
        const raw = block.type === "resource" ? block.resource?.uri : block.uri;
        if (typeof raw !== "string") return text("Warden removed a resource without a URI");
        const d = await this.#seenUri(raw, method, seen);
        if (d === null) {
          return text(`Warden removed a resource: more than ${MAX_EMBEDDED} in one result`);
        }
        if (d.no !== null) return text(d.no);
        return block.type === "resource"
          ? { ...block, resource: { ...block.resource, uri: d.uri } }
          : { ...block, uri: d.uri };
      }
      default:
        return text("Warden removed a content block of a type MCP does not define");
    }
  }

  /** Could some expansion of a resource template be allowed (ring ceiling and policy)? */
  #templateCould(template: string): boolean {
    if (!/\{[^{}]*\}/.test(template)) {
      // No expression: the template is one URI, judged like a listed resource.
      const n = normalizeUri(template);
      return n.ok &&
        this.#opts.host.governor.couldAllow(this.handle.ref, this.#ask("mcp.resource.read", n.uri));
    }
    return this.#opts.host.governor.couldAllow(
      this.handle.ref,
      this.#ask("mcp.resource.read", template),
      templateShape(template),
    );
  }

  #wire(server: Server): void {
    const c = this.client;
    const caps = c.getServerCapabilities() ?? {};
    const timeout = this.#opts.requestTimeoutMs ?? 60_000;
    if (caps.tools) {
      server.setRequestHandler(
        ListToolsRequestSchema,
        async (req: ListToolsRequest, extra: Extra) => {
          const r = await c.listTools(cursor(req.params), { signal: extra.signal, timeout });
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
          // Only what was decided goes on: the name and the arguments.
          const token = req.params._meta?.progressToken;
          const r = await c.callTool({ name, arguments: args }, undefined, {
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
          if (!Array.isArray(r.content)) return r as CallToolResult;
          return {
            ...r,
            content: await this.#filterBlocks(r.content, "tools/call"),
          } as CallToolResult;
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
          const r = await c.listResources(cursor(req.params), { signal: extra.signal, timeout });
          // Listed in the normalized form a read decides; what has none is never readable.
          const resources = [];
          for (const x of r.resources) {
            const n = normalizeUri(x.uri);
            if (n.ok && this.#visible("mcp.resource.read", n.uri)) {
              resources.push({ ...x, uri: n.uri });
            }
          }
          return { ...r, resources };
        },
      );
      server.setRequestHandler(
        ListResourceTemplatesRequestSchema,
        async (req: ListResourceTemplatesRequest, extra: Extra) => {
          const r = await c.listResourceTemplates(cursor(req.params), {
            signal: extra.signal,
            timeout,
          });
          return {
            ...r,
            resourceTemplates: r.resourceTemplates.filter((t: { uriTemplate: string }) => {
              if (this.#opts.hide === false || this.#templateCould(t.uriTemplate)) return true;
              this.#hidden(t.uriTemplate);
              return false;
            }),
          };
        },
      );
      server.setRequestHandler(
        ReadResourceRequestSchema,
        async (req: ReadResourceRequest, extra: Extra) => {
          const { uri, no } = await this.#decideUri(req.params.uri, "resources/read");
          if (no !== null) throw new McpError(ErrorCode.InvalidRequest, no);
          // The server receives the decided form, never the client's spelling.
          const r = await c.readResource({ uri }, { signal: extra.signal, timeout });
          // A read may return other resources too: each is decided.
          const seen: Seen = { uris: new Map([[uri, { uri, no: null }]]), over: 0 };
          const contents = [];
          for (const item of r.contents) {
            const d = await this.#seenUri(item.uri, "resources/read (contents)", seen);
            if (d === null || d.no !== null) {
              contents.push({
                uri: d?.uri ?? item.uri,
                mimeType: "text/plain",
                text: d?.no ?? `Warden removed a resource: more than ${MAX_EMBEDDED} in one result`,
              });
            } else contents.push({ ...item, uri: d.uri });
          }
          this.#overflow(seen, "resources/read (contents)");
          return { ...r, contents };
        },
      );
      c.setNotificationHandler(
        ResourceListChangedNotificationSchema,
        () => server.sendResourceListChanged(),
      );
      // Subscriptions are not offered: an update the client never asked for is dropped (it
      // would name a resource URI nobody decided).
      c.setNotificationHandler(ResourceUpdatedNotificationSchema, () => {});
    }
    if (caps.prompts) {
      server.setRequestHandler(
        ListPromptsRequestSchema,
        async (req: ListPromptsRequest, extra: Extra) => {
          const r = await c.listPrompts(cursor(req.params), { signal: extra.signal, timeout });
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
          const r = await c.getPrompt({ name, arguments: req.params.arguments }, {
            signal: extra.signal,
            timeout,
          });
          const blocks = await this.#filterBlocks(
            r.messages.map((m: { content: unknown }) => m.content),
            "prompts/get",
          );
          return {
            ...r,
            messages: r.messages.map((m: object, i: number) => ({ ...m, content: blocks[i] })),
          };
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
        async (req: CompleteRequest, extra: Extra): Promise<CompleteResult> => {
          const { ref, argument, context } = req.params;
          const no = this.#completion(ref);
          if (no !== null) throw new McpError(ErrorCode.InvalidRequest, no);
          return await c.complete({
            ref: ref.type === "ref/prompt"
              ? { type: "ref/prompt", name: ref.name }
              : { type: "ref/resource", uri: ref.uri },
            argument: { name: argument.name, value: argument.value },
            ...(context?.arguments ? { context: { arguments: context.arguments } } : {}),
          }, { signal: extra.signal, timeout });
        },
      );
    }
    // Everything else a client sends fails closed: requests are refused and audited,
    // notifications dropped (methods.ts lists what is served).
    server.fallbackRequestHandler = (req: JSONRPCRequest) => {
      const method = clip(String(req.method));
      const known = Object.hasOwn(GOVERNED_METHODS, method) ? GOVERNED_METHODS[method] : null;
      const why = known?.kind === "forward"
        ? `${method}: the server ${this.handle.name} does not offer it`
        : known
        ? `${method} is not served by this gateway: ${known.how}`
        : `${method} is not governed by this gateway (fail closed)`;
      const no = this.#refuse(this.#ask("mcp.method", method), `method ${method}`, why, {
        method,
      });
      return Promise.reject(new McpError(ErrorCode.MethodNotFound, no));
    };
    const dropped = new Set<string>();
    server.fallbackNotificationHandler = (n: JSONRPCNotification) => {
      const method = clip(String(n.method));
      if (dropped.size < 64 && !dropped.has(method)) {
        dropped.add(method); // said once per method: a flood of them is not a flood of lines
        this.#opts.onNotice?.(`dropped ${method} notifications from the client (not forwarded)`);
      }
      return Promise.resolve();
    };
  }

  /**
   * Decide a completion against what it completes: a prompt as `mcp.prompt.get`, a resource
   * template as `mcp.resource.read`, allowed when the policy could allow it for some arguments
   * (some expansion). Audited either way; null when allowed, else the refusal line.
   */
  #completion(ref: { type: string; name?: string; uri?: string }): string | null {
    const { governor } = this.#opts.host;
    const prompt = ref.type === "ref/prompt";
    const action = prompt ? "mcp.prompt.get" : "mcp.resource.read";
    const target = String(prompt ? ref.name : ref.uri);
    const what = prompt ? `prompt ${JSON.stringify(target)}` : `resource template ${target}`;
    const ask = this.#ask(action, target);
    const could = prompt ? governor.couldAllow(this.handle.ref, ask) : this.#templateCould(target);
    const extra = { method: "completion/complete" };
    if (!could) {
      return this.#refuse(
        ask,
        what,
        `the policy never allows ${action} ${target}, so it is not completed either`,
        extra,
      );
    }
    governor.record(this.handle.ref, ask, {
      effect: "allow",
      rule: null,
      reason: `completion: the policy could allow ${action} ${target}`,
    }, extra);
    return null;
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

/** A client-chosen name, cut to a length fit for a line. */
function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

/** Only the cursor of a list request goes on to the server. */
function cursor(params: { cursor?: string } | undefined): { cursor?: string } | undefined {
  return params?.cursor === undefined ? undefined : { cursor: params.cursor };
}
