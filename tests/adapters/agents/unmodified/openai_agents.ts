/** An OpenAI Agents JS agent as anyone writes one: an Agent with two tools, a scripted model. */
import { Agent, Runner, tool } from "@openai/agents-core";
import {
  assistantMessage,
  functionCall,
  modelResponder,
  type RecordedModelCall,
  ScriptedModel,
} from "@openai/agents-core/testing";
import {
  fetchPage,
  nextStep,
  NoteArgs,
  PageArgs,
  params,
  PROMPT,
  readNote,
  type Seen,
} from "./script.ts";

const { url } = params();
function seenIn(call: RecordedModelCall): Seen[] {
  const input = call.request.input;
  if (typeof input === "string") return [];
  return input.flatMap((item) =>
    item.type !== "function_call_result" ? [] : [{
      tool: item.name,
      output: typeof item.output === "string"
        ? item.output
        : !Array.isArray(item.output) && item.output.type === "text"
        ? item.output.text
        : JSON.stringify(item.output),
    }]
  );
}
let calls = 0;
const model = new ScriptedModel(
  [0, 1, 2].map(() =>
    modelResponder((call) => {
      const step = nextStep(seenIn(call), url);
      if ("final" in step) return [assistantMessage(step.final)];
      return [functionCall(step.tool, step.args, { callId: `c${++calls}` })];
    })
  ),
);
const agent = new Agent({
  name: "assistant",
  instructions: "Use the tools, then report.",
  model,
  tools: [
    tool({
      name: "read_note",
      description: "read a note",
      parameters: NoteArgs,
      execute: readNote,
    }),
    tool({
      name: "fetch_page",
      description: "fetch a page",
      parameters: PageArgs,
      execute: fetchPage,
    }),
  ],
});
const result = await new Runner({ tracingDisabled: true }).run(agent, PROMPT, { maxTurns: 6 });
console.log(
  JSON.stringify({ framework: "openai-agents", final: String(result.finalOutput ?? "") }),
);
