/** The MCP request and notification handlers of the gateway (what each method forwards). */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
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
  PromptListChangedNotificationSchema,
  type ReadResourceRequest,
  ReadResourceRequestSchema,
  ResourceListChangedNotificationSchema,
  type SetLevelRequest,
  SetLevelRequestSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { normalizeUri } from "../../governance/policy/uri.ts";
import { MAX_EMBEDDED, type McpDecisions, type Seen } from "./decisions.ts";
import { relayErrors, RpcError, withProgress } from "./relay.ts";
import type { McpGatewayOptions } from "./gateway.ts";
import { GOVERNED_METHODS, requestTimeout } from "./methods.ts";
import { GatewayTasks } from "./tasks.ts";
import { guardMcpResult } from "../outputs/mcp.ts";

/** What a request handler uses of the SDK's per-request extra. */
type Extra = {
  signal: AbortSignal;
  sendNotification: (n: { method: string; params: Record<string, unknown> }) => Promise<void>;
};

/**
 * Serve the MCP methods on `server` by forwarding to `c`, each decided by `gov` first; what the
 * governed server does not offer, and everything not in methods.ts, fails closed.
 */
export function wireHandlers(
  server: Server,
  c: Client,
  gov: McpDecisions,
  opts: McpGatewayOptions,
): void {
  const caps = c.getServerCapabilities() ?? {};
  const timeout = requestTimeout(opts);
  // Every handler's errors go on to the client with one "MCP error <code>:" prefix.
  const on = <R>(schema: unknown, handler: (req: R, extra: Extra) => unknown) =>
    server.setRequestHandler(schema as never, relayErrors(handler) as never);
  if (caps.tools) {
    const tasks = new GatewayTasks(c, gov, opts);
    tasks.wire(
      server,
      async (r) =>
        guardMcpResult(
          opts.host.governor,
          gov,
          "(task)",
          Array.isArray(r.content)
            ? { ...r, content: await gov.filterBlocks(r.content, "tasks/result") } as CallToolResult
            : r,
        ),
    );
    on(
      ListToolsRequestSchema,
      async (req: ListToolsRequest, extra: Extra) => {
        const r = await c.listTools(cursor(req.params), { signal: extra.signal, timeout });
        return {
          ...r,
          tools: r.tools.filter((t: { name: string }) => gov.visible("tool.call", t.name)),
        };
      },
    );
    on(
      CallToolRequestSchema,
      async (req: CallToolRequest, extra: Extra) => {
        const { name } = req.params;
        const args = req.params.arguments ?? {};
        const no = await gov.refusal(
          gov.ask("tool.call", name, args),
          `tool ${JSON.stringify(name)}`,
        );
        const task = req.params.task;
        if (no !== null) {
          // A task-augmented call must answer with a task: its refusal is an error.
          if (task !== undefined) throw new RpcError(ErrorCode.InvalidRequest, no);
          return { isError: true, content: [{ type: "text", text: no }] } as CallToolResult;
        }
        if (task !== undefined) return await tasks.call(name, args, task, extra);
        // Progress the server reports goes on to the client under the client's own token,
        // and resets the request timeout. Only what was decided goes on: the name and the
        // arguments.
        const token = req.params._meta?.progressToken;
        const r: CallToolResult = await withProgress(
          token,
          extra,
          (o) =>
            c.callTool({ name, arguments: args }, undefined, {
              signal: extra.signal,
              timeout,
              ...o,
            }) as Promise<CallToolResult>,
        );
        if (!Array.isArray(r.content)) return guardMcpResult(opts.host.governor, gov, name, r);
        return guardMcpResult(opts.host.governor, gov, name, {
          ...r,
          content: await gov.filterBlocks(r.content, "tools/call"),
        } as CallToolResult);
      },
    );
    c.setNotificationHandler(
      ToolListChangedNotificationSchema,
      () => server.sendToolListChanged(),
    );
  }
  if (caps.resources) {
    on(
      ListResourcesRequestSchema,
      async (req: ListResourcesRequest, extra: Extra) => {
        const r = await c.listResources(cursor(req.params), { signal: extra.signal, timeout });
        // Listed in the normalized form a read decides; what has none is never readable.
        const resources = [];
        for (const x of r.resources) {
          const n = normalizeUri(x.uri);
          if (n.ok && gov.visible("mcp.resource.read", n.uri)) {
            resources.push({ ...x, uri: n.uri });
          }
        }
        return { ...r, resources };
      },
    );
    on(
      ListResourceTemplatesRequestSchema,
      async (req: ListResourceTemplatesRequest, extra: Extra) => {
        const r = await c.listResourceTemplates(cursor(req.params), {
          signal: extra.signal,
          timeout,
        });
        return {
          ...r,
          resourceTemplates: r.resourceTemplates.filter((t: { uriTemplate: string }) => {
            if (opts.hide === false || gov.templateCould(t.uriTemplate)) return true;
            gov.hidden(t.uriTemplate);
            return false;
          }),
        };
      },
    );
    on(
      ReadResourceRequestSchema,
      async (req: ReadResourceRequest, extra: Extra) => {
        const { uri, no } = await gov.decideUri(req.params.uri, "resources/read");
        if (no !== null) throw new RpcError(ErrorCode.InvalidRequest, no);
        // The server receives the decided form, never the client's spelling.
        const r = await c.readResource({ uri }, { signal: extra.signal, timeout });
        // A read may return other resources too: each is decided.
        const seen: Seen = { uris: new Map([[uri, { uri, no: null }]]), over: 0 };
        const contents = [];
        for (const item of r.contents) {
          const d = await gov.seenUri(item.uri, "resources/read (contents)", seen);
          if (d === null || d.no !== null) {
            contents.push({
              uri: d?.uri ?? item.uri,
              mimeType: "text/plain",
              text: d?.no ?? `Warden removed a resource: more than ${MAX_EMBEDDED} in one result`,
            });
          } else contents.push({ ...item, uri: d.uri });
        }
        gov.overflow(seen, "resources/read (contents)");
        return { ...r, contents };
      },
    );
    c.setNotificationHandler(
      ResourceListChangedNotificationSchema,
      () => server.sendResourceListChanged(),
    );
    // Subscriptions and their updates: subscriptions.ts.
  }
  if (caps.prompts) {
    on(
      ListPromptsRequestSchema,
      async (req: ListPromptsRequest, extra: Extra) => {
        const r = await c.listPrompts(cursor(req.params), { signal: extra.signal, timeout });
        return {
          ...r,
          prompts: r.prompts.filter((p: { name: string }) => gov.visible("mcp.prompt.get", p.name)),
        };
      },
    );
    on(
      GetPromptRequestSchema,
      async (req: GetPromptRequest, extra: Extra) => {
        const { name } = req.params;
        const args = req.params.arguments ?? {};
        const no = await gov.refusal(
          gov.ask("mcp.prompt.get", name, args),
          `prompt ${JSON.stringify(name)}`,
        );
        if (no !== null) throw new RpcError(ErrorCode.InvalidRequest, no);
        const r = await c.getPrompt({ name, arguments: req.params.arguments }, {
          signal: extra.signal,
          timeout,
        });
        const blocks = await gov.filterBlocks(
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
    on(
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
    on(
      CompleteRequestSchema,
      async (req: CompleteRequest, extra: Extra): Promise<CompleteResult> => {
        const { ref, argument, context } = req.params;
        const no = gov.completion(ref);
        if (no !== null) throw new RpcError(ErrorCode.InvalidRequest, no);
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
      ? `${method}: the server ${gov.handle.name} does not offer it`
      : known
      ? `${method} is not served by this gateway: ${known.how}`
      : `${method} is not governed by this gateway (fail closed)`;
    const no = gov.refuse(gov.ask("mcp.method", method), `method ${method}`, why, {
      method,
    });
    return Promise.reject(new RpcError(ErrorCode.MethodNotFound, no));
  };
  const dropped = new Set<string>();
  server.fallbackNotificationHandler = (n: JSONRPCNotification) => {
    const method = clip(String(n.method));
    if (dropped.size < 64 && !dropped.has(method)) {
      dropped.add(method); // said once per method: a flood of them is not a flood of lines
      opts.onNotice?.(`dropped ${method} notifications from the client (not forwarded)`);
    }
    return Promise.resolve();
  };
}

/** A client-chosen name, cut to a length fit for a line. */
function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

/** Only the cursor of a list request goes on to the server. */
function cursor(params: { cursor?: string } | undefined): { cursor?: string } | undefined {
  return params?.cursor === undefined ? undefined : { cursor: params.cursor };
}
