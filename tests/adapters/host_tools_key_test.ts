/**
 * The idempotency key reaches every framework's host tool (runtime/adapters/host_tools.ts):
 * the AI SDK's `toolCallId`, LangChain's `config.configurable.idempotencyKey`, the OpenAI
 * Agents tool call's `callId`. Without a key, every call gets a fresh id that no other call
 * (in this process or a later one) can share.
 */
import { tool as lcTool } from "@langchain/core/tools";
import { tool as oaTool } from "@openai/agents-core";
import { tool as aiTool } from "ai";
import { z } from "zod";
import { registerHostTools } from "../../runtime/adapters/host_tools.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { assert, assertEquals } from "../policy/asserts.ts";

const seen: string[] = [];
const reg = new ToolRegistry();
registerHostTools(reg, {
  ai: aiTool({
    description: "ai",
    inputSchema: z.object({}),
    execute: (_i: unknown, o: { toolCallId: string }) => seen.push(`ai ${o.toolCallId}`),
  }),
  lc: lcTool((_i: unknown, config) => seen.push(`lc ${config?.configurable?.idempotencyKey}`), {
    name: "lc",
    description: "lc",
    schema: z.object({}),
  }),
  oa: oaTool({
    name: "oa",
    description: "oa",
    parameters: z.object({}),
    execute: (_i: unknown, _ctx, details) => {
      seen.push(`oa ${details?.toolCall?.callId}`);
      return "ok";
    },
  }),
});

const call = (name: string, idempotencyKey?: string) =>
  reg.get(name)!.run({}, {
    agentId: "a",
    agentName: "a",
    workspace: "/tmp",
    signal: new AbortController().signal,
    idempotencyKey,
  });

Deno.test("host tools: every framework's tool receives the call's idempotency key", async () => {
  seen.length = 0;
  for (const t of ["ai", "lc", "oa"]) await call(t, `saga-1:${t}:do`);
  assertEquals(seen, ["ai saga-1:ai:do", "lc saga-1:lc:do", "oa saga-1:oa:do"]);
});

Deno.test("host tools: calls without a key get ids that never repeat", async () => {
  seen.length = 0;
  for (const t of ["ai", "ai", "lc", "lc", "oa", "oa"]) await call(t);
  const ids = seen.map((s) => s.split(" ")[1]);
  assertEquals(new Set(ids).size, ids.length);
  for (const id of ids) assert(/^warden-[0-9a-f-]{36}$/.test(id), id);
});
