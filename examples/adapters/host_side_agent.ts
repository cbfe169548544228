/**
 * Host mode end to end: a Vercel AI SDK agent (scripted model, no network) whose CRM tools are
 * the operator's own framework tools running on the Warden host (examples/adapters/
 * crm_tools.ts): the agent declares their schemas for the model, has no implementation and no
 * API key, and every call is validated, decided and audited by the host.
 * Run: deno task run examples/adapters/host_side_agent.ts --bundle \
 *        --policy examples/adapters/policy.yaml --host-tools examples/adapters/crm_tools.ts
 */
import { generateText, stepCountIs, tool } from "ai";
import { z } from "zod";
import { emit } from "../../sdk/mod.ts";
import { wardenTools } from "../../sdk/adapters/ai_sdk.ts";
import { scriptedModel } from "./ai_sdk_script.ts";

const SCRIPT = [
  { tool: "crm_lookup", args: { customer: "acme" } },
  { tool: "crm_notes", args: { customer: "acme" } },
  { tool: "crm_export", args: { all: true, customer: null } },
];

const { model, seen } = scriptedModel((shown) =>
  SCRIPT[shown.length] ?? { final: shown.map((s) => `${s.tool}: ${s.output}`).join("\n") }
);

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
await emit({ framework: "ai-sdk (host mode)", final: result.text, seen: seen() });
