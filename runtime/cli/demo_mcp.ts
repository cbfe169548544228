/**
 * The demo's MCP act: the example notes server (examples/mcp/notes.ts) runs governed behind the
 * gateway, and a scripted MCP client (the official SDK's, connected in memory) does what a
 * prompt-injected model might: a normal note, a credential in a note, a tool the listing hid,
 * and an innocent file-reading tool pointed at /etc/shadow.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { join } from "node:path";
import type { AgentHost } from "../host.ts";
import { McpGateway } from "../mcp/gateway.ts";
import { clip, visible } from "./colour.ts";

const NOTES = new URL("../../examples/mcp/notes.ts", import.meta.url).pathname;

/** What the act saw, for the demo's summary. */
export interface McpActResult {
  listed: number;
  hidden: number;
  calls: number;
  refused: number;
  /** The notes hold exactly the allowed note afterwards. */
  intact: boolean;
}

export async function mcpAct(
  host: AgentHost,
  workspace: string,
  say: (line: string) => void,
): Promise<McpActResult> {
  Deno.mkdirSync(workspace, { recursive: true });
  say("\n  MCP: the notes server behind the gateway (ring 2), a scripted client calling it");
  const gw = await McpGateway.start({ host, server: { module: NOTES, workspace } });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await gw.serve(b);
  const client = new Client({ name: "demo-client", version: "1.0.0" });
  await client.connect(a);
  try {
    const listed = (await client.listTools()).tools.map((t: { name: string }) => t.name);
    const offered = (await gw.client.listTools()).tools.map((t: { name: string }) => t.name);
    const hidden = offered.filter((n: string) => !listed.includes(n));
    say(`  ➜ tools/list shows: ${listed.join(", ")} (hidden, never allowed: ${hidden.join(", ")})`);
    const script: [string, Record<string, unknown>][] = [
      ["add_note", { text: "standup moved to 10:00" }],
      ["add_note", { text: "prod db password = hunter2" }],
      ["delete_notes", {}],
      ["read_file", { path: "/etc/shadow" }],
      ["list_notes", {}],
    ];
    let refused = 0;
    let last = "";
    for (const [name, args] of script) {
      const r = await client.callTool({ name, arguments: args }) as {
        isError?: boolean;
        content: { text?: string }[];
      };
      last = r.content.map((c) => c.text ?? "").join(" ");
      if (r.isError) refused++;
      say(`  ➜ ${name}: ${r.isError ? "refused" : "ok"}: ${visible(clip(last, 90))}`);
    }
    const onDisk = JSON.parse(Deno.readTextFileSync(join(workspace, "notes.json")));
    return {
      listed: listed.length,
      hidden: hidden.length,
      calls: script.length,
      refused,
      intact: JSON.stringify(onDisk) === JSON.stringify(["standup moved to 10:00"]) &&
        last === JSON.stringify(onDisk),
    };
  } finally {
    await client.close().catch(() => {});
    await gw.close();
  }
}
