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
      "result decided as mcp.resource.read; with a task param, decided the same and the task " +
      "becomes this client's",
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
  "resources/subscribe": forward(
    "decided as mcp.resource.read on the normalized URI (what the server receives), at most " +
      "1024 per session; updates reach the client only for subscribed URIs, decided again",
  ),
  "resources/unsubscribe": forward(
    "decided as mcp.resource.read; a held subscription always ends (it only narrows)",
  ),
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
  "tasks/get": forward("only for a task this client created through an allowed tools/call"),
  "tasks/result": forward(
    "only for a task this client created; the result filtered like a tools/call result",
  ),
  "tasks/list": forward("filtered: only the tasks this client created"),
  "tasks/cancel": forward("only for a task this client created"),
  "notifications/initialized": gateway("the gateway's own; the server had its own at start"),
  "notifications/cancelled": forward(
    "cancels a forwarded request: the gateway sends its own cancellation for that request",
  ),
  "notifications/progress": forward(
    "progress on a forwarded server request (sampling, elicitation, roots) goes to the " +
      "server under its own token; any other progress is dropped",
  ),
  "notifications/roots/list_changed": forward(
    "forwarded when the client declared roots.listChanged, else dropped",
  ),
  "notifications/tasks/status": refuse("dropped: the gateway's client side runs no tasks"),
});

/**
 * Server-to-client requests and notifications (what the governed server sends the gateway's
 * client side), and what the gateway does with each. A test checks every server method of the
 * SDK has a row.
 */
export const SERVER_METHODS: Readonly<Record<string, MethodDisposition>> = Object.freeze({
  "ping": gateway("answered by the gateway"),
  "sampling/createMessage": forward(
    "decided as mcp.sampling (resource: the server's name, args: the params), only when the " +
      "client declared sampling; refused ones are a JSON-RPC error to the server",
  ),
  "elicitation/create": forward(
    "decided as mcp.elicitation (resource: the server's name, args: the params), only when " +
      "the client declared the elicitation mode",
  ),
  "roots/list": forward("decided as mcp.roots (resource: the server's name), when declared"),
  "tasks/get": refuse("refused: the gateway's client side runs no tasks"),
  "tasks/result": refuse("refused: the gateway's client side runs no tasks"),
  "tasks/list": refuse("refused: the gateway's client side runs no tasks"),
  "tasks/cancel": refuse("refused: the gateway's client side runs no tasks"),
  "notifications/cancelled": forward("cancels a forwarded server request at the client"),
  "notifications/progress": forward(
    "progress on a forwarded request resets its timeout; it reaches the client under the " +
      "client's own token, if it gave one",
  ),
  "notifications/message": forward("forwarded (log messages), at the client's logging level"),
  "notifications/resources/updated": forward(
    "only for a URI the client subscribed to, decided again as mcp.resource.read",
  ),
  "notifications/resources/list_changed": forward("forwarded; the next listing is filtered"),
  "notifications/tools/list_changed": forward("forwarded; the next listing is filtered"),
  "notifications/prompts/list_changed": forward("forwarded; the next listing is filtered"),
  "notifications/tasks/status": forward("only for a task this client created"),
  "notifications/elicitation/complete": forward(
    "only for a URL elicitation the gateway forwarded",
  ),
});

/** How long one forwarded request may take unless `--request-timeout` says otherwise. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** The request timeout of a gateway's options. */
export function requestTimeout(o: { requestTimeoutMs?: number }): number {
  return o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
}
