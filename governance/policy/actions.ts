/** The action vocabulary and how each action's resource is normalized. */

/** How an action's `resource` string is interpreted before matching. */
export type ResourceKind = "path" | "url" | "hostport" | "uri" | "name";

/** Every action Warden knows, with the kind of resource it carries. */
export const ACTION_KINDS: Readonly<Record<string, ResourceKind>> = Object.freeze({
  "fs.read": "path",
  "fs.write": "path",
  "net.fetch": "url",
  "net.connect": "hostport",
  "env.get": "name",
  "run": "name",
  "ffi": "path",
  "sys": "name",
  "import": "url",
  "tool.call": "name",
  "saga.run": "name",
  "message.send": "name",
  "message.receive": "name",
  "output.emit": "name",
  "plugin.load": "name",
  "memory.read": "name",
  "memory.write": "name",
  "memory.delete": "name",
  // MCP gateway: a governed server's resources (by normalized URI, see uri.ts) and prompts
  // (by name).
  "mcp.resource.read": "uri",
  "mcp.prompt.get": "name",
  // Requests a governed MCP server sends to the client (by the server's name): running the
  // client's model, asking its user, listing its roots.
  "mcp.sampling": "name",
  "mcp.elicitation": "name",
  "mcp.roots": "name",
});

/** The resource kind of an action; unknown actions are treated as plain names. */
export function resourceKind(action: string): ResourceKind {
  return Object.hasOwn(ACTION_KINDS, action) ? ACTION_KINDS[action] : "name";
}

/**
 * Expand an action pattern from a rule (`fs.read`, `fs.*`, `*`) to the actions of `vocabulary`
 * it covers. Returns null when it covers none (a typo must not silently disable a rule).
 */
export function expandActionPattern(
  pattern: string,
  vocabulary: readonly string[],
): string[] | null {
  if (pattern === "*") return [...vocabulary];
  if (pattern.endsWith(".*")) {
    const prefix = pattern.slice(0, -1);
    const hit = vocabulary.filter((a) => a.startsWith(prefix));
    return hit.length > 0 ? hit : null;
  }
  return vocabulary.includes(pattern) ? [pattern] : null;
}
