/**
 * Output rules on a tool result an MCP server sends back through the gateway (channel
 * `mcp.result`, kind: the tool's name): redacted where a rule says so, or replaced by an error
 * result naming the rule when one denies it. The subject is the governed server.
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { McpDecisions } from "../mcp/decisions.ts";
import type { Governor } from "../governor.ts";
import { guardOutput } from "./guard.ts";

/** The result the client may see of tool `name` (see the module comment). */
export function guardMcpResult(
  governor: Governor,
  gov: McpDecisions,
  name: string,
  result: CallToolResult,
): CallToolResult {
  const g = guardOutput({
    governor,
    subject: gov.handle.ref,
    path: "mcp",
    channel: "mcp.result",
    resource: name,
    kind: name,
  }, result);
  if (g.ok) return g.value as CallToolResult;
  return {
    isError: true,
    content: [{ type: "text", text: `Warden withheld the result (output rules): ${g.reason}` }],
  };
}
