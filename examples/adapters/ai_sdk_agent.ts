/**
 * A Vercel AI SDK agent (`generateText` with tools and `stopWhen`) whose tools are governed by
 * Warden, driven by the SDK's own MockLanguageModelV4 following a fixed script.
 * Run: deno task run examples/adapters/ai_sdk_agent.ts --bundle --policy examples/adapters/policy.yaml
 */
import { generateText, stepCountIs, tool } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { emit } from "../../sdk/mod.ts";
import { wardenTools } from "../../sdk/adapters/ai_sdk.ts";
import {
  DESCRIPTIONS,
  EmailArgs,
  localSearch,
  nextStep,
  NoteArgs,
  PROMPT,
  SearchArgs,
  type Seen,
  sendEmail,
  type Transcript,
  writeNote,
} from "./scenario.ts";

type Prompt = Parameters<MockLanguageModelV4["doGenerate"]>[0]["prompt"];
type Result = Awaited<ReturnType<MockLanguageModelV4["doGenerate"]>>;

/** Every tool result in the prompt, as the model receives it. */
function seenIn(prompt: Prompt): Seen[] {
  const seen: Seen[] = [];
  for (const m of prompt) {
    if (m.role !== "tool") continue;
    for (const part of m.content) {
      if (part.type !== "tool-result") continue;
      const o = part.output;
      const text = o.type === "text" || o.type === "error-text"
        ? o.value
        : JSON.stringify("value" in o ? o.value : o);
      seen.push({ tool: part.toolName, output: text, error: o.type.startsWith("error") });
    }
  }
  return seen;
}

let seen: Seen[] = [];
let calls = 0;
const usage = {
  inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 0, text: 0, reasoning: 0 },
};
const model = new MockLanguageModelV4({
  doGenerate: (options): Promise<Result> => {
    seen = seenIn(options.prompt);
    const step = nextStep(seen);
    const content: Result["content"] = "final" in step ? [{ type: "text", text: step.final }] : [{
      type: "tool-call",
      toolCallId: `call-${++calls}`,
      toolName: step.tool,
      input: JSON.stringify(step.args),
    }];
    const unified = "final" in step ? "stop" : "tool-calls";
    return Promise.resolve({
      content,
      finishReason: { unified, raw: undefined },
      usage,
      warnings: [],
    });
  },
});

const tools = {
  write_note: tool({
    description: DESCRIPTIONS.write_note,
    inputSchema: NoteArgs,
    execute: writeNote,
  }),
  search: tool({ description: DESCRIPTIONS.search, inputSchema: SearchArgs, execute: localSearch }),
  send_email: tool({
    description: DESCRIPTIONS.send_email,
    inputSchema: EmailArgs,
    execute: sendEmail,
  }),
};

const result = await generateText({
  model,
  prompt: PROMPT,
  // The one line that changes for Warden: the ToolSet is wrapped; `search` runs on the host.
  tools: wardenTools(tools, { tools: { search: { mode: "host" } } }),
  stopWhen: stepCountIs(8),
});

const transcript: Transcript = { framework: "ai-sdk", final: result.text, seen };
await emit(transcript);
