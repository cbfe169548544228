/**
 * The scripted AI SDK model the AI SDK examples share: the SDK's own MockLanguageModelV4, which
 * records every tool result it is shown and asks `next` what to do (call a tool, or answer).
 */
import { MockLanguageModelV4 } from "ai/test";
import type { Seen } from "./scenario.ts";

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

const usage = {
  inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 0, text: 0, reasoning: 0 },
};

/** A model following `next`; `seen()` is what it was last shown. */
export function scriptedModel(
  next: (seen: readonly Seen[]) => { tool: string; args: Record<string, unknown> } | {
    final: string;
  },
): { model: MockLanguageModelV4; seen: () => Seen[] } {
  let seen: Seen[] = [];
  let calls = 0;
  const model = new MockLanguageModelV4({
    doGenerate: (options): Promise<Result> => {
      seen = seenIn(options.prompt);
      const step = next(seen);
      const content: Result["content"] = "final" in step ? [{ type: "text", text: step.final }] : [{
        type: "tool-call",
        toolCallId: `call-${++calls}`,
        toolName: step.tool,
        input: JSON.stringify(step.args),
      }];
      return Promise.resolve({
        content,
        finishReason: { unified: "final" in step ? "stop" : "tool-calls", raw: undefined },
        usage,
        warnings: [],
      });
    },
  });
  return { model, seen: () => seen };
}
