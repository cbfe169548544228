// mcp.tools_call: an MCP server (official SDK, stdio) with one tool that does no I/O.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "echo", version: "1.0.0" });
server.registerTool("echo", {
  description: "Echo the text back",
  inputSchema: { text: z.string() },
}, ({ text }: { text: string }) => ({ content: [{ type: "text", text }] }));
await server.connect(new StdioServerTransport());
