/**
 * The gateway tells its server the real client's capabilities (issue 19): the handshake with
 * the server waits for the client's `initialize`, and declares only the forwardable
 * capabilities (roots, sampling, elicitation, and their sub-fields) that this client declared
 * and the policy could allow; each one the policy withholds is audited as a deny. Tested with
 * the official SDK client against an SDK server that reports what it saw.
 */
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";
import { assertEquals, assertMatch } from "../policy/asserts.ts";
import { policyOf, SERVERS, session, text } from "./helpers.ts";

const REVERSE = join(SERVERS, "reverse.ts");
const HEAD = `apiVersion: warden/v1
kind: Policy
name: caps
default: deny
rules:
  - { id: tools, effect: allow, action: tool.call }
`;
const ALL = policyOf(
  HEAD + "  - { id: reverse, effect: allow, action: [mcp.sampling, mcp.elicitation, mcp.roots] }\n",
);

function clientWith(capabilities: ClientCapabilities): Client {
  const c = new Client({ name: "caps-client", version: "1.0.0" }, { capabilities });
  if (capabilities.sampling) {
    c.setRequestHandler(CreateMessageRequestSchema, () => ({
      role: "assistant",
      content: { type: "text", text: "sampled" },
      model: "m",
    }));
  }
  if (capabilities.elicitation) {
    c.setRequestHandler(ElicitRequestSchema, () => ({ action: "decline" }));
  }
  if (capabilities.roots) c.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [] }));
  return c;
}

async function seenBy(
  capabilities: ClientCapabilities,
  policy = ALL,
): Promise<{ caps: Record<string, unknown> | null; audit: [string, string, string][] }> {
  const s = await session({ module: REVERSE }, { policy, client: clientWith(capabilities) });
  try {
    const r = await s.client.callTool({ name: "client_caps", arguments: {} });
    const audit = s.host.audit.recent
      .filter((e) => e.action.startsWith("mcp.") && e.action !== "mcp.method")
      .map((e) => [e.action, e.effect, e.reason] as [string, string, string]);
    return { caps: JSON.parse(text(r)), audit };
  } finally {
    await s.close();
  }
}

Deno.test("a client without sampling: the server sees no sampling capability", async () => {
  const { caps } = await seenBy({ roots: {} });
  assertEquals(caps, { roots: {} });
});

Deno.test("a client with sampling and elicitation: the server sees them, sub-fields as declared", async () => {
  const full = await seenBy({
    roots: { listChanged: true },
    sampling: { context: {}, tools: {} },
    elicitation: { form: {}, url: {} },
  });
  assertEquals(full.caps, {
    roots: { listChanged: true },
    sampling: { context: {}, tools: {} },
    elicitation: { form: {}, url: {} },
  });
  // Only what the client has: no sub-field it did not declare, nothing the gateway invents.
  const plain = await seenBy({ sampling: {}, elicitation: { form: {} } });
  assertEquals(plain.caps, { sampling: {}, elicitation: { form: {} } });
});

Deno.test("a policy that never allows mcp.sampling: not declared to the server, audited", async () => {
  const policy = policyOf(HEAD + "  - { id: roots, effect: allow, action: mcp.roots }\n");
  const { caps, audit } = await seenBy({ roots: {}, sampling: {}, elicitation: {} }, policy);
  assertEquals(caps, { roots: {} });
  assertEquals(audit.map(([a, e]) => [a, e]), [
    ["mcp.sampling", "deny"],
    ["mcp.elicitation", "deny"],
  ]);
  assertMatch(audit[0][2], /never allows mcp\.sampling .*did not declare the client's sampling/);
});

Deno.test("a server that asks for a withheld capability anyway is refused, with the reason", async () => {
  const policy = policyOf(HEAD);
  const s = await session({ module: REVERSE }, { policy, client: clientWith({ sampling: {} }) });
  try {
    const r = JSON.parse(
      text(await s.client.callTool({ name: "ask_model", arguments: { prompt: "hi" } })),
    );
    assertMatch(r.error, /Warden denied sampling .*the policy never allows mcp\.sampling/);
    const denials = s.host.audit.recent.filter((e) => e.action === "mcp.sampling");
    assertEquals(denials.map((e) => e.effect), ["deny", "deny"]); // the handshake, the request
  } finally {
    await s.close();
  }
});
