/**
 * Every MCP method a client can send to the gateway, and what the gateway does with it. The
 * gateway serves exactly the `forward` rows (each decided as the row says); `gateway` rows are
 * answered by the gateway itself; everything else, including any method not listed here, is
 * refused and audited as `mcp.method` (requests) or dropped (notifications). A test checks
 * that every client method of the SDK has a row, so an SDK upgrade cannot add an ungoverned one.
 */

/** What happens to one method. */
export interface MethodDisposition {
  /** forward: decided, then sent to the server; gateway: answered here; refuse: never sent. */
  readonly kind: "forward" | "gateway" | "refuse";
  /** How it is governed (README's list). */
  readonly how: string;
}

const forward = (how: string): MethodDisposition => ({ kind: "forward", how });
const gateway = (how: string): MethodDisposition => ({ kind: "gateway", how });
const refuse = (how: string): MethodDisposition => ({ kind: "refuse", how });

/** Client-to-server requests and notifications (MCP 2025-11-25, SDK 1.32.2). */
export const GOVERNED_METHODS: Readonly<Record<string, MethodDisposition>> = Object.freeze({
  "initialize": gateway("the gateway's own handshake; the server had its own at start"),
  "ping": gateway("answered by the gateway"),
  "tools/list": forward("filtered: tools the policy never allows (tool.call) are hidden"),
  "tools/call": forward(
    "decided as tool.call (name, arguments); embedded resources and resource links in the " +
      "result decided as mcp.resource.read",
  ),
  "resources/list": forward(
    "filtered: resources whose normalized URI is never allowed (or cannot be normalized) " +
      "are hidden; listed in normalized form",
  ),
  "resources/templates/list": forward(
    "filtered: templates no expansion of which could be allowed are hidden",
  ),
  "resources/read": forward(
    "decided as mcp.resource.read on the normalized URI, which is what the server receives; " +
      "every returned content's URI decided too",
  ),
  "resources/subscribe": refuse("not offered (subscribe: false)"),
  "resources/unsubscribe": refuse("not offered (subscribe: false)"),
  "prompts/list": forward("filtered: prompts the policy never allows (mcp.prompt.get) are hidden"),
  "prompts/get": forward(
    "decided as mcp.prompt.get (name, arguments); embedded resources and resource links in " +
      "the messages decided as mcp.resource.read",
  ),
  "completion/complete": forward(
    "decided against what it completes: a prompt as mcp.prompt.get, a resource template as " +
      "mcp.resource.read (could some expansion be allowed); refused ones never reach the server",
  ),
  "logging/setLevel": forward("forwarded (changes only what the server logs to the client)"),
  "tasks/get": refuse("experimental tasks are not offered"),
  "tasks/result": refuse("experimental tasks are not offered"),
  "tasks/list": refuse("experimental tasks are not offered"),
  "tasks/cancel": refuse("experimental tasks are not offered"),
  "notifications/initialized": gateway("the gateway's own; the server had its own at start"),
  "notifications/cancelled": forward(
    "cancels a forwarded request: the gateway sends its own cancellation for that request",
  ),
  "notifications/progress": refuse("dropped: the gateway sends no requests to the client"),
  "notifications/roots/list_changed": refuse("dropped: roots are not offered"),
  "notifications/tasks/status": refuse("dropped: experimental tasks are not offered"),
});
