/**
 * A Vercel AI SDK agent (`generateText` with tools and `stopWhen`) whose tools are governed by
 * Warden, driven by the SDK's own MockLanguageModelV4 following a fixed script.
 * Run: deno task run examples/adapters/ai_sdk_agent.ts --bundle --policy examples/adapters/policy.yaml
 */
import { generateText, stepCountIs, tool } from "ai";
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
  sendEmail,
  type Transcript,
  writeNote,
} from "./scenario.ts";
import { scriptedModel } from "./ai_sdk_script.ts";

const { model, seen } = scriptedModel(nextStep);

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

const transcript: Transcript = { framework: "ai-sdk", final: result.text, seen: seen() };
await emit(transcript);
