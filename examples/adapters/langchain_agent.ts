/**
 * A LangChain.js agent (a chat model with `bindTools` and a tool loop) whose tools are governed
 * by Warden, driven by LangChain's own scripted test model (`fakeModel` from
 * @langchain/core/testing) following a fixed script.
 * Run: deno task run examples/adapters/langchain_agent.ts --bundle --policy examples/adapters/policy.yaml
 */
import {
  AIMessage,
  type BaseMessage,
  HumanMessage,
  type ToolMessage,
} from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { type StructuredToolInterface, tool } from "@langchain/core/tools";
import { emit } from "../../sdk/mod.ts";
import { wardenTools } from "../../sdk/adapters/langchain.ts";
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

// LangChain tools build a LangSmith client, which looks for ~/.langsmith through os.homedir()
// (refused at ring 2) unless this names a profile file: point it into the workspace.
Deno.env.set("LANGSMITH_CONFIG_FILE", "langsmith.json");

/** Every tool result in the conversation, as the model receives it. */
function seenIn(messages: BaseMessage[]): Seen[] {
  return messages.filter((m): m is ToolMessage => m.type === "tool").map((m) => ({
    tool: m.name ?? "?",
    output: typeof m.content === "string" ? m.content : JSON.stringify(m.content),
    error: m.status === "error",
  }));
}

let seen: Seen[] = [];
let calls = 0;
const model = fakeModel();
for (let i = 0; i <= SCRIPT.length; i++) {
  model.respond((messages) => {
    seen = seenIn(messages);
    const step = nextStep(seen);
    if ("final" in step) return new AIMessage(step.final);
    return new AIMessage({
      content: "",
      tool_calls: [{ name: step.tool, args: step.args, id: `call-${++calls}`, type: "tool_call" }],
    });
  });
}

const tools = [
  tool(writeNote, { name: "write_note", description: DESCRIPTIONS.write_note, schema: NoteArgs }),
  tool(localSearch, { name: "search", description: DESCRIPTIONS.search, schema: SearchArgs }),
  tool(sendEmail, { name: "send_email", description: DESCRIPTIONS.send_email, schema: EmailArgs }),
];
// The one line that changes for Warden: the tools are wrapped; `search` runs on the host.
const governed = wardenTools(tools, { tools: { search: { mode: "host" } } });
const byName = new Map<string, StructuredToolInterface>(governed.map((t) => [t.name, t]));
const chat = model.bindTools(governed);

const messages: BaseMessage[] = [new HumanMessage(PROMPT)];
for (let turn = 0; turn < 8; turn++) {
  const reply = await chat.invoke(messages);
  messages.push(reply);
  if (!reply.tool_calls?.length) break;
  for (const call of reply.tool_calls) {
    const t = byName.get(call.name);
    if (!t) throw new Error(`the model called an unknown tool ${call.name}`);
    messages.push(await t.invoke(call) as ToolMessage);
  }
}

const last = messages.at(-1);
const final = last instanceof AIMessage ? last.text : "";
const transcript: Transcript = { framework: "langchain", final, seen };
await emit(transcript);
