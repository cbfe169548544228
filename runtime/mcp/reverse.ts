/**
 * Requests a governed MCP server sends to the client, forwarded and decided: running the
 * client's model (`sampling/createMessage` as `mcp.sampling`), asking its user
 * (`elicitation/create` as `mcp.elicitation`) and listing its roots (`roots/list` as
 * `mcp.roots`). The resource is the server's name, the args are the request's params (digested
 * in the audit log). Each is audited; a refused one is answered to the server with a JSON-RPC
 * error and never reaches the client, and so is one for a capability the client did not
 * declare. At most MAX_SERVER_REQUESTS are pending at once: the rest of a flood is refused
 * unasked (one audit record per burst). `notifications/roots/list_changed` from a client that
 * declared `roots.listChanged` goes on to the server; `notifications/elicitation/complete`
 * from the server reaches the client only for a URL elicitation the gateway forwarded.
 */
import { requestTimeout } from "./methods.ts";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  type ClientCapabilities,
  type CreateMessageRequestParams,
  CreateMessageRequestSchema,
  type ElicitationCompleteNotification,
  ElicitationCompleteNotificationSchema,
  type ElicitRequestParams,
  ElicitRequestSchema,
  ErrorCode,
  type JSONRPCRequest,
  ListRootsRequestSchema,
  RootsListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { McpDecisions } from "./decisions.ts";
import { forwarded, RpcError, withProgress } from "./relay.ts";
import type { Upstream } from "./handshake.ts";
import type { McpGatewayOptions } from "./gateway.ts";

/** Server-to-client requests pending at once; more are refused without a decision. */
export const MAX_SERVER_REQUESTS = 16;

/**
 * What the gateway can forward: the most it declares to a server, for a client that declared
 * all of it and a policy that could allow it (handshake.ts).
 */
export const FORWARDED_CLIENT_CAPABILITIES: ClientCapabilities = {
  roots: { listChanged: true },
  sampling: { context: {}, tools: {} },
  elicitation: { form: {}, url: {} },
};

/** What a request handler uses of the SDK's per-request extra. */
type Extra = {
  signal: AbortSignal;
  sendNotification: (n: { method: string; params: Record<string, unknown> }) => Promise<void>;
};

type Params = Record<string, unknown> & { _meta?: { progressToken?: string | number } };

/** One kind of server-to-client request. */
interface Kind {
  method: string;
  action: string;
  /** The capability's name in what the client declares. */
  capability: string;
  /** Did the client declare what this request needs? */
  declared(caps: ClientCapabilities, params: Params): boolean;
}

const SAMPLING: Kind = {
  method: "sampling/createMessage",
  action: "mcp.sampling",
  capability: "sampling",
  declared: (c, p) =>
    !!c.sampling && (!(p.tools || p.toolChoice) || !!c.sampling.tools) &&
    (p.includeContext === undefined || p.includeContext === "none" || !!c.sampling.context),
};
const ELICITATION: Kind = {
  method: "elicitation/create",
  action: "mcp.elicitation",
  capability: "elicitation",
  declared: (c, p) => {
    const e = c.elicitation;
    if (!e) return false;
    if (p.mode === "url") return !!e.url;
    // An empty elicitation capability means form mode (the SDK's reading).
    return !!e.form || Object.keys(e).length === 0;
  },
};
const ROOTS: Kind = {
  method: "roots/list",
  action: "mcp.roots",
  capability: "roots",
  declared: (c) => !!c.roots,
};

/**
 * Serve the server's requests to the client on `c`, forwarded to `server`'s client; `upstream`
 * is what `c` declared to the server.
 */
export function wireReverse(
  server: Server,
  c: Client,
  gov: McpDecisions,
  opts: McpGatewayOptions,
  upstream: Upstream,
): void {
  const timeout = requestTimeout(opts);
  let pending = 0;
  let burst = false;
  /** URL-mode elicitations forwarded (their completion notices may follow); bounded. */
  const urlElicitations = new Set<string>();

  async function relay<R>(
    kind: Kind,
    params: Params | undefined,
    extra: Extra,
    send: (p: never, o: object) => Promise<R>,
  ): Promise<R> {
    const { _meta, ...args } = params ?? {};
    const ask = gov.ask(kind.action, gov.handle.name, args);
    const what = `${kind.capability} for the server ${JSON.stringify(gov.handle.name)}`;
    const extraAudit = { method: kind.method };
    if (pending >= MAX_SERVER_REQUESTS) {
      const why = `more than ${MAX_SERVER_REQUESTS} server requests pending (fail closed)`;
      if (!burst) gov.refuse(ask, what, why, extraAudit); // one record per burst
      burst = true;
      throw new RpcError(ErrorCode.InvalidRequest, `Warden refused ${what}: ${why}`);
    }
    pending++;
    burst = false;
    try {
      const caps = server.getClientCapabilities() ?? {};
      if (!kind.declared(caps, args)) {
        const no = gov.refuse(
          ask,
          what,
          `the client did not declare ${kind.capability} (or the mode this request needs)`,
          extraAudit,
        );
        throw new RpcError(ErrorCode.MethodNotFound, no);
      }
      const no = await gov.refusal(ask, what, extraAudit);
      if (no !== null) throw new RpcError(ErrorCode.InvalidRequest, no);
      // Only the decided params go on; progress the client reports goes back under the
      // server's token and keeps the request alive.
      const token = _meta?.progressToken;
      return await withProgress(
        token,
        extra,
        (o) => send(args as never, { signal: extra.signal, timeout, ...o }),
      );
    } catch (e) {
      throw forwarded(e);
    } finally {
      pending--;
    }
  }

  // The SDK lets the gateway's client handle only what it declared to the server (the
  // connected client's capabilities, filtered by policy: handshake.ts). A request of a kind
  // not declared is still refused and audited, here.
  const undeclared = new Map<string, Kind>();
  const handle = <R>(
    kind: Kind,
    schema: Parameters<Client["setRequestHandler"]>[0],
    run: (req: { params?: Params }, extra: Extra) => Promise<R>,
  ) => {
    if ((upstream.capabilities as Record<string, unknown>)[kind.capability]) {
      c.setRequestHandler(schema, run as never);
    } else undeclared.set(kind.method, kind);
  };
  handle(
    SAMPLING,
    CreateMessageRequestSchema,
    (req, extra: Extra) =>
      relay(
        SAMPLING,
        req.params,
        extra,
        (p: CreateMessageRequestParams, o) => server.createMessage(p, o),
      ),
  );
  handle(
    ELICITATION,
    ElicitRequestSchema,
    (req, extra: Extra) =>
      relay(ELICITATION, req.params, extra, (p: ElicitRequestParams, o) => {
        const id = (p as { elicitationId?: unknown }).elicitationId;
        if (p.mode === "url" && typeof id === "string" && urlElicitations.size < 1024) {
          urlElicitations.add(id);
        }
        return server.elicitInput(p, o);
      }),
  );
  handle(
    ROOTS,
    ListRootsRequestSchema,
    (req, extra: Extra) =>
      relay(ROOTS, req.params, extra, (p: Record<string, unknown>, o) => server.listRoots(p, o)),
  );
  c.fallbackRequestHandler = (req: JSONRPCRequest) => {
    const kind = undeclared.get(req.method);
    if (!kind) {
      return Promise.reject(new RpcError(ErrorCode.MethodNotFound, "Method not found"));
    }
    const { _meta: _, ...args } = (req.params ?? {}) as Params;
    const no = gov.refuse(
      gov.ask(kind.action, gov.handle.name, args),
      `${kind.capability} for the server ${JSON.stringify(gov.handle.name)}`,
      upstream.withheld(kind.capability),
      { method: kind.method },
    );
    return Promise.reject(new RpcError(ErrorCode.MethodNotFound, no));
  };
  // A URL elicitation's completion reaches the client only for one the gateway forwarded.
  c.setNotificationHandler(
    ElicitationCompleteNotificationSchema,
    async (n: ElicitationCompleteNotification) => {
      const id = n.params.elicitationId;
      if (!urlElicitations.delete(id)) return;
      await server.notification({
        method: "notifications/elicitation/complete",
        params: { elicitationId: id },
      });
    },
  );
  let saidRoots = false;
  server.setNotificationHandler(RootsListChangedNotificationSchema, async () => {
    if (upstream.capabilities.roots?.listChanged) return await c.sendRootsListChanged();
    if (!saidRoots) opts.onNotice?.("dropped roots/list_changed: the client did not declare roots");
    saidRoots = true; // said once: a flood of them is not a flood of lines
  });
}
