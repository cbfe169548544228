/**
 * An OpenAI Agents JS agent (`Agent` run by a `Runner`, tracing disabled) whose function tools
 * are governed by Warden, driven by the SDK's own ScriptedModel (@openai/agents-core/testing)
 * following a fixed script.
 * Run: deno task run examples/adapters/openai_agents_agent.ts --bundle --policy examples/adapters/policy.yaml
 */
import { Agent, Runner, tool } from "@openai/agents-core";
import {
  assistantMessage,
  functionCall,
  modelResponder,
  type RecordedModelCall,
  ScriptedModel,
} from "@openai/agents-core/testing";
import { emit } from "../../sdk/mod.ts";
import { wardenTools } from "../../sdk/adapters/openai_agents.ts";
import {
  DESCRIPTIONS,
  EmailArgs,
  localSearch,
  nextStep,
  NoteArgs,
  PROMPT,
  SCRIPT,
  SearchArgs,
  type Seen,
  sendEmail,
  type Transcript,
  writeNote,
} from "./scenario.ts";

/** Every function result in the request, as the model receives it (the SDK has no error flag). */
function seenIn(call: RecordedModelCall): Seen[] {
  const input = call.request.input;
  if (typeof input === "string") return [];
  const seen: Seen[] = [];
  for (const item of input) {
    if (item.type !== "function_call_result") continue;
    const o = item.output;
    const text = typeof o === "string"
      ? o
      : !Array.isArray(o) && o.type === "text"
      ? o.text
      : JSON.stringify(o);
    seen.push({ tool: item.name, output: text });
  }
  return seen;
}

let seen: Seen[] = [];
let calls = 0;
const model = new ScriptedModel(
  Array.from({ length: SCRIPT.length + 1 }, () =>
    modelResponder((call) => {
      seen = seenIn(call);
      const step = nextStep(seen);
      if ("final" in step) return [assistantMessage(step.final)];
      return [functionCall(step.tool, step.args, { callId: `call-${++calls}` })];
    })),
);

const tools = [
  tool({
    name: "write_note",
    description: DESCRIPTIONS.write_note,
    parameters: NoteArgs,
    execute: writeNote,
  }),
  tool({
    name: "search",
    description: DESCRIPTIONS.search,
    parameters: SearchArgs,
    execute: localSearch,
  }),
  tool({
    name: "send_email",
    description: DESCRIPTIONS.send_email,
    parameters: EmailArgs,
    execute: sendEmail,
  }),
];

const agent = new Agent({
  name: "assistant",
  instructions: "Use the tools to do what the user asks, then report.",
  model,
  // The one line that changes for Warden: the tools are wrapped; `search` runs on the host.
  tools: wardenTools(tools, { tools: { search: { mode: "host" } } }),
});
const result = await new Runner({ tracingDisabled: true }).run(agent, PROMPT, { maxTurns: 8 });

const transcript: Transcript = {
  framework: "openai-agents",
  final: String(result.finalOutput ?? ""),
  seen,
};
await emit(transcript);
