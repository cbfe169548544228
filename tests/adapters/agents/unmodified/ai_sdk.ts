/** An AI SDK agent as anyone writes one: generateText with two tools, a scripted model. */
import { generateText, stepCountIs, tool } from "ai";
import { MockLanguageModelV4 } from "ai/test";
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
let calls = 0;
type Prompt = Parameters<MockLanguageModelV4["doGenerate"]>[0]["prompt"];
const seenIn = (prompt: Prompt): Seen[] =>
  prompt.flatMap((m) =>
    m.role !== "tool" ? [] : m.content.flatMap((p) =>
      p.type !== "tool-result" ? [] : [{
        tool: p.toolName,
        output: p.output.type === "text" ? p.output.value : JSON.stringify(p.output),
      }]
    )
  );
const usage = {
  inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 0, text: 0, reasoning: 0 },
};
const model = new MockLanguageModelV4({
  doGenerate: (options) => {
    const step = nextStep(seenIn(options.prompt), url);
    return Promise.resolve({
      content: "final" in step ? [{ type: "text" as const, text: step.final }] : [{
        type: "tool-call" as const,
        toolCallId: `c${++calls}`,
        toolName: step.tool,
        input: JSON.stringify(step.args),
      }],
      finishReason: {
        unified: "final" in step ? "stop" as const : "tool-calls" as const,
        raw: undefined,
      },
      usage,
      warnings: [],
    });
  },
});
const result = await generateText({
  model,
  prompt: PROMPT,
  stopWhen: stepCountIs(5),
  tools: {
    read_note: tool({ description: "read a note", inputSchema: NoteArgs, execute: readNote }),
    fetch_page: tool({ description: "fetch a page", inputSchema: PageArgs, execute: fetchPage }),
  },
});
console.log(JSON.stringify({ framework: "ai-sdk", final: result.text }));
