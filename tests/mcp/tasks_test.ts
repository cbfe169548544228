/**
 * Issue 19 item 3, task-based tools (the SDK's experimental tasks) through the gateway, driven
 * by the SDK's own client against an SDK server with task tools (tests/mcp/servers/tasks.ts):
 * a task-augmented tools/call is decided exactly like a plain call; tasks/get, tasks/result and
 * tasks/cancel only for tasks this client created through an allowed call; tasks/list and
 * status notifications only show those; a task's result is filtered like a tool result.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../policy/asserts.ts";
import { join } from "node:path";
import {
  CallToolResultSchema,
  CancelTaskResultSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
  TaskStatusNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { policyOf, SERVERS, type Session, session, text } from "./helpers.ts";

const TASKS = join(SERVERS, "tasks.ts");
const POLICY = policyOf(`apiVersion: warden/v1
kind: Policy
name: tasks
default: deny
rules:
  - { id: tools, effect: allow, action: tool.call }
  - { id: no-secret, effect: deny, action: tool.call, resource: secret_work }
  - { id: notes, effect: allow, action: mcp.resource.read, when: { resource: { prefix: "notes://" } } }
`);

/** Run a task tool to its end through the SDK's task stream; the result or the error. */
async function runTask(s: Session, name: string, text: string) {
  const out: { taskId?: string; result?: unknown; error?: string } = {};
  const stream = s.client.experimental.tasks.callToolStream(
    { name, arguments: { text } },
    CallToolResultSchema,
    { task: { ttl: 60_000 } },
  );
  for await (const m of stream) {
    if (m.type === "taskCreated") out.taskId = m.task.taskId;
    if (m.type === "result") out.result = m.result;
    if (m.type === "error") out.error = m.error.message;
  }
  return out;
}

/** Methods the server received (its stderr). */
const got = (s: Session, method: string) =>
  s.notices.filter((n) => n.startsWith(`tasks: got ${method} `));

Deno.test("a task-augmented tools/call is decided like a plain call and runs as a task", async () => {
  const s = await session({ module: TASKS }, { policy: POLICY });
  try {
    assert(s.client.getServerCapabilities()?.tasks?.requests?.tools?.call, "tasks offered");
    const ok = await runTask(s, "work", "x");
    assertEquals(ok.error, undefined);
    assertEquals(text(ok.result), "worked on x");
    const no = await runTask(s, "secret_work", "y");
    assertMatch(
      no.error ?? "",
      /^MCP error -32600: Warden denied tool "secret_work" \(rule no-secret\)/,
    );
    assertEquals(got(s, "tools/call").length, 1, "the denied call never reached the server");
    const calls = s.host.audit.recent.filter((e) => e.action === "tool.call");
    assertEquals(calls.map((e) => [e.resource, e.effect, e.rule]), [
      ["work", "allow", "tools"],
      ["secret_work", "deny", "no-secret"],
    ]);
  } finally {
    await s.close();
  }
});

Deno.test("hostile client: tasks it did not create are refused and never reach the server", async () => {
  const s = await session({ module: TASKS }, { policy: POLICY });
  try {
    const mine = await runTask(s, "work", "mine");
    const foreign = text(await s.client.callTool({ name: "leak", arguments: {} }));
    const before = s.notices.length;
    for (
      const [method, schema] of [
        ["tasks/get", GetTaskResultSchema],
        ["tasks/result", CallToolResultSchema],
        ["tasks/cancel", CancelTaskResultSchema],
      ] as const
    ) {
      for (const taskId of [foreign, ` ${foreign}`, "../" + foreign, "*"]) {
        const err = await assertRejects(() =>
          s.client.request({ method, params: { taskId } }, schema)
        );
        assertMatch(err.message, new RegExp(`Warden denied ${method} for task`), method);
      }
    }
    assert(
      !s.notices.slice(before).some((n) => /got tasks\/(get|result|cancel)/.test(n)),
      "no foreign task request reached the server",
    );
    const list = await s.client.request(
      { method: "tasks/list", params: {} },
      ListTasksResultSchema,
    );
    assertEquals(list.tasks.map((t: { taskId: string }) => t.taskId), [mine.taskId]);
    const refused = s.host.audit.recent.filter((e) => e.action === "mcp.method");
    assertEquals(refused.length, 12);
    assert(refused.every((e) => e.effect === "deny"));

    // Status notifications only for the client's own tasks.
    const statuses: string[] = [];
    s.client.setNotificationHandler(
      TaskStatusNotificationSchema,
      (n: { params: { taskId: string } }) => {
        statuses.push(n.params.taskId);
      },
    );
    await s.client.callTool({ name: "status_spam", arguments: {} });
    await s.client.listTools();
    assertEquals(statuses, []);
  } finally {
    await s.close();
  }
});

Deno.test("a task's result is filtered like a tool result: denied resources are removed", async () => {
  const s = await session({ module: TASKS }, { policy: POLICY });
  try {
    const r = await runTask(s, "embed", "z");
    const blocks = (r.result as { content: { type: string; text?: string }[] }).content;
    assertMatch(blocks[0].text ?? "", /^Warden denied resource secret:\/\/key/);
    assertEquals(blocks[1].type, "resource");
    assert(!JSON.stringify(r.result).includes("SECRET"), "the secret never reaches the client");
  } finally {
    await s.close();
  }
});
