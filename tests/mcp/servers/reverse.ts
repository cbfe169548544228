/**
 * An MCP server (official SDK) for the gateway's protocol tests: it has a title and
 * instructions, asks the client for sampling, elicitation and roots from inside tool calls,
 * offers resource subscriptions, pushes resource updates and list changes on demand, reports
 * progress on a slow tool, and fails a tool with a JSON-RPC error. Every message it receives is
 * recorded on stderr as `got <method> <params>`.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import {
  ErrorCode,
  McpError,
  RootsListChangedNotificationSchema,
  type SubscribeRequest,
  SubscribeRequestSchema,
  type UnsubscribeRequest,
  UnsubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { recordMessages } from "./record.ts";

/** What a tool handler uses of the SDK's per-request extra. */
type Extra = {
  _meta?: { progressToken?: string | number };
  sendNotification: (n: { method: string; params: Record<string, unknown> }) => Promise<void>;
};

const mcp = new McpServer(
  {
    name: "reverse",
    version: "1.2.3",
    title: "Reverse Test Server",
    description: "for the gateway's protocol tests",
    websiteUrl: "https://example.org/reverse",
  },
  { instructions: "Ask before you sample.", capabilities: { resources: { subscribe: true } } },
);
const srv = mcp.server;
const subscribed = new Set<string>();
let rootsChanged = 0;

const ok = (v: unknown) => ({ content: [{ type: "text" as const, text: JSON.stringify(v) }] });
/** What came back (a result or the error's message), so the test can read it. */
const outcome = (p: Promise<unknown>) =>
  p.then((r) => ({ ok: r }), (e: Error) => ({ error: e.message }));

mcp.registerTool(
  "client_caps",
  { description: "The client capabilities the server saw" },
  () => ok(srv.getClientCapabilities() ?? null),
);
mcp.registerTool("ask_model", {
  description: "Ask the client's model",
  inputSchema: { prompt: z.string(), maxTokens: z.number().optional() },
}, async ({ prompt, maxTokens }: { prompt: string; maxTokens?: number }) =>
  ok(
    await outcome(srv.createMessage({
      messages: [{ role: "user", content: { type: "text", text: prompt } }],
      maxTokens: maxTokens ?? 50,
    })),
  ));
mcp.registerTool("ask_model_progress", {
  description: "Ask the client's model, counting the progress it reports",
}, async () => {
  const seen: number[] = [];
  const r = await outcome(srv.createMessage({
    messages: [{ role: "user", content: { type: "text", text: "with progress" } }],
    maxTokens: 5,
  }, { onprogress: (p: { progress: number }) => void seen.push(p.progress) }));
  return ok({ ...r, progress: seen });
});
mcp.registerTool("ask_user", {
  description: "Ask the user",
  inputSchema: { question: z.string() },
}, async ({ question }: { question: string }) =>
  ok(
    await outcome(srv.elicitInput({
      message: question,
      requestedSchema: { type: "object", properties: { answer: { type: "string" } } },
    })),
  ));
mcp.registerTool(
  "list_roots",
  { description: "The client's roots" },
  async () => ok(await outcome(srv.listRoots())),
);
mcp.registerTool("flood", {
  description: "Many sampling requests at once",
  inputSchema: { n: z.number() },
}, async ({ n }: { n: number }) => {
  const all = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      outcome(srv.createMessage({
        messages: [{ role: "user", content: { type: "text", text: `flood ${i}` } }],
        maxTokens: 5,
      }, { timeout: 120_000 }))),
  );
  const refused = all.filter((x) => "error" in x).map((x) => (x as { error: string }).error);
  return ok({ answered: all.length - refused.length, refused });
});
mcp.registerTool("push", {
  description: "Send resource updates and list changes",
  inputSchema: { uris: z.array(z.string()) },
}, async ({ uris }: { uris: string[] }) => {
  for (const uri of uris) await srv.sendResourceUpdated({ uri });
  mcp.sendResourceListChanged();
  mcp.sendToolListChanged();
  mcp.sendPromptListChanged();
  return ok("pushed");
});
mcp.registerTool(
  "state",
  { description: "Subscriptions and roots changes seen" },
  () => ok({ subscribed: [...subscribed].sort(), rootsChanged }),
);
mcp.registerTool("slow", {
  description: "Reports progress every 150 ms, steps times",
  inputSchema: { steps: z.number(), progress: z.boolean() },
}, async ({ steps, progress }: { steps: number; progress: boolean }, extra: Extra) => {
  for (let i = 0; i < steps; i++) {
    await new Promise((r) => setTimeout(r, 150));
    // Progress goes to the gateway even when its client did not ask for it.
    const token = extra._meta?.progressToken;
    if (progress && token !== undefined) {
      await extra.sendNotification({
        method: "notifications/progress",
        params: { progressToken: token, progress: i + 1, total: steps },
      });
    }
  }
  return ok("done");
});
mcp.registerTool("fail", { description: "Fails with a JSON-RPC error" }, () => {
  throw new McpError(ErrorCode.InvalidParams, "the tool refuses");
});
mcp.registerPrompt("p", { description: "a prompt" }, () => ({
  messages: [{ role: "user", content: { type: "text", text: "hi" } }],
}));
for (const uri of ["notes://a", "notes://b", "secret://key"]) {
  mcp.registerResource(uri, uri, {}, () => ({ contents: [{ uri, text: `text of ${uri}` }] }));
}
srv.setRequestHandler(SubscribeRequestSchema, (req: SubscribeRequest) => {
  subscribed.add(req.params.uri);
  return {};
});
srv.setRequestHandler(UnsubscribeRequestSchema, (req: UnsubscribeRequest) => {
  subscribed.delete(req.params.uri);
  return {};
});
srv.setNotificationHandler(RootsListChangedNotificationSchema, () => {
  rootsChanged++;
});
const transport = new StdioServerTransport();
await mcp.connect(transport);
recordMessages(transport);
