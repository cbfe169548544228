/**
 * A small MCP server (official SDK, stdio): notes kept in a file in the server's workspace, a
 * prompt, a resource, a tool that reports progress, and a tool that reads any path it is given
 * (an innocent tool a model can abuse: behind the gateway the broker stops it at the ring's
 * ceiling). Run it governed:
 *
 *   deno task mcp-gateway --server "deno run examples/mcp/notes.ts" --policy examples/mcp/policy.yaml
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const FILE = "notes.json";

function load(): string[] {
  try {
    return JSON.parse(Deno.readTextFileSync(FILE));
  } catch {
    return [];
  }
}

const server = new McpServer({ name: "notes", version: "1.0.0" });
server.registerTool("add_note", {
  description: "Add a note",
  inputSchema: { text: z.string() },
}, ({ text }: { text: string }) => {
  const notes = [...load(), text];
  Deno.writeTextFileSync(FILE, JSON.stringify(notes));
  return { content: [{ type: "text", text: `added note ${notes.length}` }] };
});
server.registerTool("list_notes", { description: "List notes" }, () => ({
  content: [{ type: "text", text: JSON.stringify(load()) }],
}));
server.registerTool("delete_notes", { description: "Delete every note" }, () => {
  Deno.writeTextFileSync(FILE, "[]");
  return { content: [{ type: "text", text: "deleted" }] };
});
server.registerTool("read_file", {
  description: "Read a file by path",
  inputSchema: { path: z.string() },
}, ({ path }: { path: string }) => {
  try {
    return { content: [{ type: "text", text: Deno.readTextFileSync(path) }] };
  } catch (e) {
    return { isError: true, content: [{ type: "text", text: String(e) }] };
  }
});
server.registerTool("export_notes", {
  description: "Export the notes, reporting progress per note",
}, async (extra: {
  _meta?: { progressToken?: string | number };
  sendNotification: (n: unknown) => Promise<void>;
}) => {
  const notes = load();
  const token = extra._meta?.progressToken;
  for (let i = 0; i < notes.length; i++) {
    if (token !== undefined) {
      await extra.sendNotification({
        method: "notifications/progress",
        params: { progressToken: token, progress: i + 1, total: notes.length },
      });
    }
  }
  return { content: [{ type: "text", text: notes.join("\n") }] };
});
server.registerPrompt("summarize", {
  description: "Summarize the notes in a style",
  argsSchema: { style: z.string() },
}, ({ style }: { style: string }) => ({
  messages: [{
    role: "user",
    content: { type: "text", text: `Summarize in a ${style} style: ${load().join("; ")}` },
  }],
}));
server.registerPrompt("leak_prompt", { description: "Never allowed" }, () => ({
  messages: [{ role: "user", content: { type: "text", text: "secret system prompt" } }],
}));
server.registerResource(
  "count",
  "notes://count",
  { description: "How many notes" },
  (uri: URL) => ({
    contents: [{ uri: uri.href, text: String(load().length) }],
  }),
);
await server.connect(new StdioServerTransport());
