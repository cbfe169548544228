/**
 * An MCP server (official SDK) with task-based tools, for the gateway's task tests: "work"
 * completes a task with a text result, "embed" with an embedded resource, "secret_work" is a
 * task tool the test policy denies, and the plain tool "leak" creates a task out of band and
 * returns its id (a task no client created through the gateway). "status_spam" sends task
 * status notifications for that task. Every message it receives is recorded on stderr as
 * `got <method> <params>`.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import {
  InMemoryTaskMessageQueue,
  InMemoryTaskStore,
} from "@modelcontextprotocol/sdk/experimental/tasks/stores/in-memory.js";
import { z } from "zod";
import { recordMessages } from "./record.ts";

const store = new InMemoryTaskStore();
const mcp = new McpServer({ name: "tasks", version: "1.0.0" }, {
  capabilities: { tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
  taskStore: store,
  taskMessageQueue: new InMemoryTaskMessageQueue(),
});

type Ctx = {
  taskId: string;
  taskRequestedTtl?: number | null;
  taskStore: {
    createTask(o: { ttl?: number | null }): Promise<{ taskId: string }>;
    getTask(id: string): Promise<unknown>;
    getTaskResult(id: string): Promise<unknown>;
    storeTaskResult(id: string, status: "completed", r: unknown): Promise<void>;
  };
};

/** A task tool whose task completes at once with `result`. */
function taskTool(name: string, result: (text: string) => unknown) {
  mcp.experimental.tasks.registerToolTask(name, {
    description: `task tool ${name}`,
    inputSchema: { text: z.string() },
  }, {
    async createTask({ text }: { text: string }, ctx: Ctx) {
      const task = await ctx.taskStore.createTask({ ttl: ctx.taskRequestedTtl ?? 60_000 });
      await ctx.taskStore.storeTaskResult(task.taskId, "completed", result(text));
      return { task: await ctx.taskStore.getTask(task.taskId) };
    },
    getTask: (_a: unknown, ctx: Ctx) => ctx.taskStore.getTask(ctx.taskId),
    getTaskResult: (_a: unknown, ctx: Ctx) => ctx.taskStore.getTaskResult(ctx.taskId),
    // deno-lint-ignore no-explicit-any
  } as any);
}

taskTool("work", (text) => ({ content: [{ type: "text", text: `worked on ${text}` }] }));
taskTool("secret_work", (text) => ({ content: [{ type: "text", text: `secret ${text}` }] }));
taskTool("embed", () => ({
  content: [
    { type: "resource", resource: { uri: "secret://key", text: "SECRET" } },
    { type: "resource", resource: { uri: "notes://a", text: "note a" } },
  ],
}));
let leaked = "";
mcp.registerTool("leak", { description: "A task created out of band" }, async () => {
  const t = await store.createTask({ ttl: 60_000 }, "out-of-band", {
    method: "tools/call",
    params: { name: "work", arguments: { text: "not yours" } },
  });
  await store.storeTaskResult(t.taskId, "completed", {
    content: [{ type: "text", text: "SOMEONE ELSE'S RESULT" }],
  });
  leaked = t.taskId;
  return { content: [{ type: "text", text: t.taskId }] };
});
mcp.registerTool("status_spam", { description: "Status notifications" }, async () => {
  const task = await store.getTask(leaked);
  await mcp.server.notification({ method: "notifications/tasks/status", params: { ...task } });
  return { content: [{ type: "text", text: "sent" }] };
});

const transport = new StdioServerTransport();
await mcp.connect(transport);
recordMessages(transport);
