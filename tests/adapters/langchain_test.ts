/** The LangChain.js adapter: fail closed outside a host, and the example under a real host. */
import { join } from "node:path";
import { ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { wardenTool, wardenTools } from "../../sdk/adapters/langchain.ts";
import { WardenToolError } from "../../sdk/adapters/gate.ts";
import { assert, assertEquals } from "../policy/asserts.ts";
import { assertScenario, EXAMPLES, withRun } from "./helpers.ts";

const NO_HOST = "not running under a Warden host (no SDK channel)";

function wipeTool(counter: { ran: number }) {
  return tool(() => {
    counter.ran++;
    return "wiped";
  }, { name: "wipe", description: "wipe everything", schema: z.object({ all: z.boolean() }) });
}

Deno.test("langchain: outside a host a tool call gets an error ToolMessage and nothing runs", async () => {
  const counter = { ran: 0 };
  const original = wipeTool(counter);
  const [wrapped] = wardenTools([original]);
  // Same tool for the model: name, description, schema.
  assertEquals(
    [wrapped.name, wrapped.description, wrapped.schema],
    [original.name, original.description, original.schema],
  );
  const msg = await wrapped.invoke({
    name: "wipe",
    args: { all: true },
    id: "call-1",
    type: "tool_call",
  });
  assert(msg instanceof ToolMessage, String(msg));
  assertEquals(
    [msg.status, msg.tool_call_id, msg.name, msg.content],
    ["error", "call-1", "wipe", `Warden could not run tool "wipe": ${NO_HOST}`],
  );
  assertEquals(counter.ran, 0);
});

Deno.test("langchain: invoked with plain arguments a refusal throws; host mode never runs the local tool", async () => {
  const counter = { ran: 0 };
  for (const mode of ["worker", "host"] as const) {
    const wrapped = wardenTool(wipeTool(counter), { mode, name: "wipe_all" });
    let error: unknown;
    try {
      await wrapped.invoke({ all: true });
    } catch (e) {
      error = e;
    }
    assert(error instanceof WardenToolError, String(error));
    assertEquals([error.tool, error.code], ["wipe_all", "failed"]);
  }
  assertEquals(counter.ran, 0);
});

Deno.test("langchain example: allowed tools run and reach the model, the denied one does not run", async () => {
  await withRun(
    { module: join(EXAMPLES, "langchain_agent.ts") },
    (run) => assertScenario(run, "langchain"),
  );
});
