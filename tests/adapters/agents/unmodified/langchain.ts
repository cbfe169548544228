/** A LangChain.js agent as anyone writes one: a tool-calling loop over a scripted chat model. */
import { AIMessage, type BaseMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { type StructuredToolInterface, tool } from "@langchain/core/tools";
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
const tools = [
  tool(readNote, { name: "read_note", description: "read a note", schema: NoteArgs }),
  tool(fetchPage, { name: "fetch_page", description: "fetch a page", schema: PageArgs }),
];
const seen: Seen[] = [];
const script = [0, 1, 2].map((i) => {
  // The model's i-th answer follows i tool results (the script asks only how many).
  const step = nextStep(Array.from({ length: i }, () => ({ tool: "", output: "" })), url);
  return "final" in step ? null : new AIMessage({
    content: "",
    tool_calls: [{ id: `c${i}`, name: step.tool, args: step.args, type: "tool_call" }],
  });
});
const model = fakeModel();
for (const m of script) if (m) model.respond(m);
const bound = model.bindTools(tools);
const messages: BaseMessage[] = [new HumanMessage(PROMPT)];
for (let turn = 0; turn < 2; turn++) {
  const ai = await bound.invoke(messages) as AIMessage;
  messages.push(ai);
  for (const call of ai.tool_calls ?? []) {
    const t = tools.find((x) => x.name === call.name) as StructuredToolInterface;
    const out = await t.invoke(call) as ToolMessage;
    messages.push(out);
    seen.push({ tool: call.name, output: String(out.content) });
  }
}
const final = nextStep(seen, url);
console.log(JSON.stringify({ framework: "langchain", final: "final" in final ? final.final : "" }));
