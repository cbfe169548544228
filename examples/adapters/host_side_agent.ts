/**
 * Host mode end to end: a Vercel AI SDK agent (scripted model, no network) whose CRM tools are
 * the operator's own framework tools running on the Warden host (examples/adapters/
 * crm_tools.ts): the agent declares their schemas for the model, has no implementation and no
 * API key, and every call is validated, decided and audited by the host.
 * Run: deno task run examples/adapters/host_side_agent.ts --bundle \
 *        --policy examples/adapters/policy.yaml --host-tools examples/adapters/crm_tools.ts
 */
import { generateText, stepCountIs, tool } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { z } from "zod";
import { emit } from "../../sdk/mod.ts";
import { wardenTools } from "../../sdk/adapters/ai_sdk.ts";

type Prompt = Parameters<MockLanguageModelV4["doGenerate"]>[0]["prompt"];
type Result = Awaited<ReturnType<MockLanguageModelV4["doGenerate"]>>;

const SCRIPT = [
  { tool: "crm_lookup", args: { customer: "acme" } },
  { tool: "crm_notes", args: { customer: "acme" } },
  { tool: "crm_export", args: { all: true, customer: null } },
];

/** What the model received for each tool call so far. */
function seenIn(prompt: Prompt): { tool: string; output: string; error: boolean }[] {
  const seen = [];
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

let seen: ReturnType<typeof seenIn> = [];
const usage = {
  inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 0, text: 0, reasoning: 0 },
};
const model = new MockLanguageModelV4({
  doGenerate: (options): Promise<Result> => {
    seen = seenIn(options.prompt);
    const next = SCRIPT[seen.length];
    const content: Result["content"] = next
      ? [{
        type: "tool-call",
        toolCallId: `call-${seen.length + 1}`,
        toolName: next.tool,
        input: JSON.stringify(next.args),
      }]
      : [{ type: "text", text: seen.map((s) => `${s.tool}: ${s.output}`).join("\n") }];
    return Promise.resolve({
      content,
      finishReason: { unified: next ? "tool-calls" : "stop", raw: undefined },
      usage,
      warnings: [],
    });
  },
});

// Schemas for the model only: the implementations live on the host.
const tools = {
  crm_lookup: tool({
    description: "look a customer up in the CRM",
    inputSchema: z.object({ customer: z.string() }),
  }),
  crm_notes: tool({
    description: "read the account notes of a customer",
    inputSchema: z.object({ customer: z.string() }),
  }),
  crm_export: tool({
    description: "export customers from the CRM",
    inputSchema: z.object({ all: z.boolean(), customer: z.string().nullable() }),
  }),
};

const result = await generateText({
  model,
  prompt: "Brief me on Acme, then export the customer list.",
  tools: wardenTools(tools, { mode: "host" }),
  stopWhen: stepCountIs(6),
});
await emit({ framework: "ai-sdk (host mode)", final: result.text, seen });
