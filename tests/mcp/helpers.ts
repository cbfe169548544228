/** Shared setup for MCP gateway tests: a host, a governed server, and an SDK client. */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CompiledPolicy } from "../../governance/mod.ts";
import { AgentHost } from "../../runtime/host.ts";
import {
  McpGateway,
  type McpGatewayOptions,
  type McpServerSpec,
} from "../../runtime/mcp/gateway.ts";
import { BUILTIN_POLICY, loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { compilePolicySet } from "../../governance/mod.ts";

export const SERVERS = new URL("./servers/", import.meta.url).pathname;
/** The example notes server and the example MCP policy (examples/mcp/). */
export const NOTES = new URL("../../examples/mcp/notes.ts", import.meta.url).pathname;
export const POLICY = new URL("../../examples/mcp/policy.yaml", import.meta.url).pathname;

/** The test policy (plus the host's built-ins). */
export function testPolicy(): CompiledPolicy {
  return loadPolicy([POLICY], { builtin: true });
}

/** A policy from YAML text, plus the host's built-ins (an agent may load its own code). */
export function policyOf(text: string): CompiledPolicy {
  return compilePolicySet([
    { path: BUILTIN_POLICY, text: Deno.readTextFileSync(BUILTIN_POLICY) },
    { path: "test.yaml", text },
  ]);
}

export interface Session {
  host: AgentHost;
  gw: McpGateway;
  client: Client;
  notices: string[];
  close(): Promise<void>;
}

/** Start `server` behind a gateway and connect an SDK client to it in memory. */
export async function session(
  server: McpServerSpec,
  opts: { policy?: CompiledPolicy; client?: Client } & Partial<McpGatewayOptions> = {},
): Promise<Session> {
  const host = new AgentHost({ policy: opts.policy ?? testPolicy(), rings: loadRings() });
  const notices: string[] = [];
  let gw: McpGateway;
  try {
    gw = await McpGateway.start({ ...opts, host, server, onNotice: (l) => notices.push(l) });
  } catch (e) {
    await host.close();
    throw e;
  }
  const [a, b] = InMemoryTransport.createLinkedPair();
  await gw.serve(b);
  const client = opts.client ?? new Client({ name: "test-client", version: "1.0.0" });
  await client.connect(a);
  return {
    host,
    gw,
    client,
    notices,
    async close() {
      await client.close().catch(() => {});
      await gw.close();
      await host.close();
    },
  };
}

/** The text of a tool result's first content item. */
export function text(r: unknown): string {
  const c = (r as { content?: { type: string; text?: string }[] }).content ?? [];
  return c.map((x) => x.text ?? "").join("\n");
}
