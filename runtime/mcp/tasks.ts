/**
 * Task-based tools (MCP's experimental tasks, SDK 1.32): a `tools/call` with a `task` param is
 * decided exactly like a plain call (tool.call on its name and arguments) and returns the
 * server's CreateTaskResult; the gateway remembers the task as this client's. `tasks/get`,
 * `tasks/result` and `tasks/cancel` are served only for tasks this client created through an
 * allowed call (any other task id is refused and audited, and never reaches the server);
 * `tasks/list` shows only those tasks; `notifications/tasks/status` reaches the client only for
 * them. A task's result is a tool result: the resources it carries are decided like a plain
 * call's.
 */
import { requestTimeout } from "./methods.ts";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  type CallToolResult,
  CallToolResultSchema,
  type CancelTaskRequest,
  CancelTaskRequestSchema,
  CancelTaskResultSchema,
  CreateTaskResultSchema,
  ErrorCode,
  type GetTaskPayloadRequest,
  GetTaskPayloadRequestSchema,
  type GetTaskRequest,
  GetTaskRequestSchema,
  GetTaskResultSchema,
  type ListTasksRequest,
  ListTasksRequestSchema,
  ListTasksResultSchema,
  type ServerCapabilities,
  type TaskStatusNotification,
  TaskStatusNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { McpDecisions } from "./decisions.ts";
import { relayErrors, RpcError } from "./relay.ts";
import type { McpGatewayOptions } from "./gateway.ts";

/** Tasks one client may hold; a call that would create more is refused before it runs. */
export const MAX_TASKS = 1024;

type Extra = { signal: AbortSignal };

/** What the gateway offers of the server's task capability: its own handlers, nothing else. */
export function taskCapabilities(c: ServerCapabilities["tasks"]): ServerCapabilities["tasks"] {
  if (!c) return undefined;
  return {
    ...(c.list ? { list: {} } : {}),
    ...(c.cancel ? { cancel: {} } : {}),
    ...(c.requests?.tools?.call ? { requests: { tools: { call: {} } } } : {}),
  };
}

/** The tasks of one client session. */
export class GatewayTasks {
  /** Task id → the tool that created it. */
  readonly #owned = new Map<string, string>();
  #c: Client;
  #gov: McpDecisions;
  #timeout: number;

  constructor(c: Client, gov: McpDecisions, opts: McpGatewayOptions) {
    this.#c = c;
    this.#gov = gov;
    this.#timeout = requestTimeout(opts);
  }

  /** Does the server accept task-augmented tool calls? */
  get offered(): boolean {
    return !!this.#c.getServerCapabilities()?.tasks?.requests?.tools?.call;
  }

  /** Forward an already allowed task-augmented call; the task becomes this client's. */
  async call(
    name: string,
    args: Record<string, unknown>,
    task: { ttl?: number },
    extra: Extra,
  ): Promise<unknown> {
    if (!this.offered) {
      throw new RpcError(
        ErrorCode.InvalidRequest,
        `Warden refused tool ${JSON.stringify(name)}: the server does not run tools as tasks`,
      );
    }
    if (this.#owned.size >= MAX_TASKS) {
      const no = this.#gov.refuse(
        this.#gov.ask("tool.call", name, args),
        `tool ${JSON.stringify(name)}`,
        `more than ${MAX_TASKS} tasks in this session (fail closed)`,
        { method: "tools/call (task)" },
      );
      throw new RpcError(ErrorCode.InvalidRequest, no);
    }
    const r = await this.#c.request(
      {
        method: "tools/call",
        params: {
          name,
          arguments: args,
          task: task.ttl === undefined ? {} : { ttl: task.ttl },
        },
      },
      CreateTaskResultSchema,
      { signal: extra.signal, timeout: this.#timeout },
    );
    this.#owned.set(r.task.taskId, name);
    return r;
  }

  /** Refuse (audited) a task request for a task this client did not create. */
  #check(method: string, taskId: unknown): string {
    const id = String(taskId);
    if (this.#owned.has(id)) return id;
    const shown = JSON.stringify(id.slice(0, 200));
    const no = this.#gov.refuse(
      this.#gov.ask("mcp.method", method),
      `${method} for task ${shown}`,
      `the task was not created by this client through an allowed tools/call`,
      { method },
    );
    throw new RpcError(ErrorCode.InvalidParams, no);
  }

  /** Serve tasks/* on `server` (the downstream side). */
  wire(server: Server, filter: (r: CallToolResult) => Promise<CallToolResult>): void {
    const c = this.#c;
    const caps = c.getServerCapabilities()?.tasks;
    if (!caps) return;
    const opts = (extra: Extra) => ({ signal: extra.signal, timeout: this.#timeout });
    server.setRequestHandler(
      GetTaskRequestSchema,
      relayErrors((req: GetTaskRequest, extra: Extra) => {
        const taskId = this.#check("tasks/get", req.params.taskId);
        return c.request(
          { method: "tasks/get", params: { taskId } },
          GetTaskResultSchema,
          opts(extra),
        );
      }),
    );
    server.setRequestHandler(
      GetTaskPayloadRequestSchema,
      relayErrors(async (req: GetTaskPayloadRequest, extra: Extra) => {
        const taskId = this.#check("tasks/result", req.params.taskId);
        const r = await c.request(
          { method: "tasks/result", params: { taskId } },
          CallToolResultSchema,
          opts(extra),
        );
        return await filter(r as CallToolResult);
      }),
    );
    if (caps.list) {
      server.setRequestHandler(
        ListTasksRequestSchema,
        relayErrors(async (req: ListTasksRequest, extra: Extra) => {
          const cursor = req.params?.cursor;
          const r = await c.request(
            { method: "tasks/list", params: cursor === undefined ? {} : { cursor } },
            ListTasksResultSchema,
            opts(extra),
          );
          return {
            ...r,
            tasks: r.tasks.filter((t: { taskId: string }) => this.#owned.has(t.taskId)),
          };
        }),
      );
    }
    if (caps.cancel) {
      server.setRequestHandler(
        CancelTaskRequestSchema,
        relayErrors((req: CancelTaskRequest, extra: Extra) => {
          const taskId = this.#check("tasks/cancel", req.params.taskId);
          return c.request(
            { method: "tasks/cancel", params: { taskId } },
            CancelTaskResultSchema,
            opts(extra),
          );
        }),
      );
    }
    c.setNotificationHandler(TaskStatusNotificationSchema, (n: TaskStatusNotification) => {
      if (!this.#owned.has(n.params.taskId)) return;
      const { _meta: _, ...params } = n.params;
      return server.notification({ method: "notifications/tasks/status", params });
    });
  }
}
