/** The OpenAI Agents JS adapter: fail closed outside a host, and the example under a real host. */
import { join } from "node:path";
import { Agent, Runner, tool } from "@openai/agents-core";
import { assistantMessage, functionCall, ScriptedModel } from "@openai/agents-core/testing";
import { z } from "zod";
import { wardenTool, wardenTools } from "../../sdk/adapters/openai_agents.ts";
import { WardenToolError } from "../../sdk/adapters/gate.ts";
import { assert, assertEquals } from "../policy/asserts.ts";
import { assertScenario, EXAMPLES, withRun } from "./helpers.ts";

const NO_HOST = "not running under a Warden host (no SDK channel)";

function wipeTool(counter: { ran: number }) {
  return tool({
    name: "wipe",
    description: "wipe everything",
    parameters: z.object({ all: z.boolean() }),
    execute: () => {
      counter.ran++;
      return "wiped";
    },
  });
}

Deno.test("openai-agents: outside a host the Runner hands the model the Warden line, nothing runs", async () => {
  const counter = { ran: 0 };
  const original = wipeTool(counter);
  const model = new ScriptedModel([
    [functionCall("wipe", { all: true }, { callId: "c1" })],
    [assistantMessage("done")],
  ]);
  const [wrapped] = wardenTools([original]);
  assertEquals(
    [wrapped.name, wrapped.description, wrapped.parameters, wrapped.strict],
    [original.name, original.description, original.parameters, original.strict],
  );
  const agent = new Agent({ name: "a", instructions: "i", model, tools: [wrapped] });
  const r = await new Runner({ tracingDisabled: true }).run(agent, "go");
  assertEquals(r.finalOutput, "done");
  const input = model.lastCall?.request.input;
  const result = Array.isArray(input)
    ? input.find((i) => i.type === "function_call_result")
    : undefined;
  assertEquals(result?.type === "function_call_result" ? result.output : null, {
    type: "text",
    text: `Warden could not run tool "wipe": ${NO_HOST}`,
  });
  assertEquals(counter.ran, 0);
});

Deno.test("openai-agents: bad JSON, host mode and output-schema tools fail closed", async () => {
  const counter = { ran: 0 };
  const wrapped = wardenTool(wipeTool(counter));
  assertEquals(
    await wrapped.invoke(undefined as never, "[1,2]"),
    'Warden rejected the arguments of tool "wipe": the arguments are not a JSON object; ' +
      "the tool did not run",
  );
  const hosted = wardenTool(wipeTool(counter), { mode: "host" });
  assertEquals(
    await hosted.invoke(undefined as never, '{"all":true}'),
    `Warden could not run tool "wipe": ${NO_HOST}`,
  );
  // A tool with an output schema and no errorFunction rethrows, as the SDK does for its errors.
  const structured = wardenTool(tool({
    name: "count",
    description: "count",
    parameters: z.object({}),
    outputSchema: z.object({ n: z.number() }),
    execute: () => {
      counter.ran++;
      return { n: 1 };
    },
  }));
  let error: unknown;
  try {
    await structured.invoke(undefined as never, "{}");
  } catch (e) {
    error = e;
  }
  assert(error instanceof WardenToolError, String(error));
  assertEquals(counter.ran, 0);
});

Deno.test("openai-agents example: allowed tools run and reach the model, the denied one does not run", async () => {
  await withRun(
    { module: join(EXAMPLES, "openai_agents_agent.ts") },
    (run) => assertScenario(run, "openai-agents"),
  );
});
