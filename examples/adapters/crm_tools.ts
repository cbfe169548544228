/**
 * Host-side tools for the host-mode example: an operator's own framework tools, one from each
 * framework, loaded into the Warden host (trusted code) with
 *   deno task run examples/adapters/host_side_agent.ts --bundle \
 *     --policy examples/adapters/policy.yaml --host-tools examples/adapters/crm_tools.ts
 * They hold the CRM's API key; the agent calls them through the host and never sees it.
 */
import { tool as aiTool } from "ai";
import { tool as lcTool } from "@langchain/core/tools";
import { tool as oaTool } from "@openai/agents-core";
import { z } from "zod";

/** The secret only the host holds (an agent's environment never has the host's variables). */
const API_KEY = Deno.env.get("CRM_API_KEY") ?? "crm-demo-key-never-leaves-the-host";

const CUSTOMERS: Record<string, { name: string; tier: string; open: number }> = {
  acme: { name: "Acme Corp", tier: "gold", open: 2 },
  globex: { name: "Globex", tier: "silver", open: 0 },
};

/** A stand-in for an authenticated CRM request. */
function crm(path: string): { authorized: boolean; path: string } {
  return { authorized: API_KEY.length > 0, path };
}

/** Keyed by tool name (an AI SDK ToolSet); the LangChain and OpenAI tools carry the same name. */
export const tools = {
  // Vercel AI SDK
  crm_lookup: aiTool({
    description: "look a customer up in the CRM",
    inputSchema: z.object({ customer: z.string() }),
    execute: ({ customer }: { customer: string }) => ({
      ...crm(`/customers/${customer}`),
      customer: CUSTOMERS[customer] ?? null,
    }),
  }),
  // LangChain.js
  crm_notes: lcTool(
    ({ customer }: { customer: string }) =>
      JSON.stringify({ ...crm(`/notes/${customer}`), notes: [`${customer}: renewal due`] }),
    {
      name: "crm_notes",
      description: "read the account notes of a customer",
      schema: z.object({ customer: z.string() }),
    },
  ),
  // OpenAI Agents JS
  crm_export: oaTool({
    name: "crm_export",
    description: "export customers from the CRM",
    parameters: z.object({ all: z.boolean(), customer: z.string().nullable() }),
    execute: ({ all, customer }: { all: boolean; customer: string | null }) =>
      JSON.stringify({ ...crm("/export"), rows: all ? Object.keys(CUSTOMERS) : [customer] }),
  }),
};
