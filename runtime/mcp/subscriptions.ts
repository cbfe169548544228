/**
 * Resource subscriptions through the gateway. `resources/subscribe` is decided like a read of
 * its URI (`mcp.resource.read` on the normalized form, which is what the server receives); at
 * most MAX_SUBSCRIPTIONS per session. `notifications/resources/updated` from the server reaches
 * the client only for a URI the client subscribed to and may still read: it is decided again
 * on delivery (audited), so a policy change stops updates, and a server cannot push updates
 * for URIs nobody subscribed to (they would name resources nobody decided).
 */
import { requestTimeout } from "./methods.ts";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  ErrorCode,
  type ResourceUpdatedNotification,
  ResourceUpdatedNotificationSchema,
  type SubscribeRequest,
  SubscribeRequestSchema,
  type UnsubscribeRequest,
  UnsubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { normalizeUri } from "../../governance/policy/uri.ts";
import type { McpDecisions } from "./decisions.ts";
import { relayErrors, RpcError } from "./relay.ts";
import type { McpGatewayOptions } from "./gateway.ts";

/** Subscriptions one client may hold at once. */
export const MAX_SUBSCRIPTIONS = 1024;

type Extra = { signal: AbortSignal };

/** Serve subscriptions (when the server offers them) and filter the server's updates. */
export function wireSubscriptions(
  server: Server,
  c: Client,
  gov: McpDecisions,
  opts: McpGatewayOptions,
): void {
  const caps = c.getServerCapabilities() ?? {};
  if (!caps.resources) return;
  const timeout = requestTimeout(opts);
  /** Normalized URIs the client is subscribed to. */
  const subs = new Set<string>();
  /** Subscribes being decided: counted against the limit, so a burst cannot overshoot it. */
  let deciding = 0;
  if (caps.resources.subscribe) {
    server.setRequestHandler(
      SubscribeRequestSchema,
      relayErrors(async (req: SubscribeRequest, extra: Extra) => {
        const raw = req.params.uri;
        const n = normalizeUri(raw);
        if (!(n.ok && subs.has(n.uri)) && subs.size + deciding >= MAX_SUBSCRIPTIONS) {
          const no = gov.refuse(
            gov.ask("mcp.resource.read", n.ok ? n.uri : raw),
            "subscription",
            `too many subscriptions (more than ${MAX_SUBSCRIPTIONS}; fail closed)`,
            { method: "resources/subscribe" },
          );
          throw new RpcError(ErrorCode.InvalidRequest, no);
        }
        deciding++;
        try {
          const { uri, no } = await gov.decideUri(raw, "resources/subscribe");
          if (no !== null) throw new RpcError(ErrorCode.InvalidRequest, no);
          await c.subscribeResource({ uri }, { signal: extra.signal, timeout });
          subs.add(uri);
          return {};
        } finally {
          deciding--;
        }
      }),
    );
    server.setRequestHandler(
      UnsubscribeRequestSchema,
      relayErrors(async (req: UnsubscribeRequest, extra: Extra) => {
        const { uri, no } = await gov.decideUri(req.params.uri, "resources/unsubscribe");
        // Unsubscribing only narrows what flows: a held subscription always ends.
        if (no !== null && !subs.has(uri)) throw new RpcError(ErrorCode.InvalidRequest, no);
        subs.delete(uri);
        await c.unsubscribeResource({ uri }, { signal: extra.signal, timeout });
        return {};
      }),
    );
  }
  const said = new Set<string>();
  const drop = (uri: string, why: string) => {
    const line = `dropped the update for ${uri.slice(0, 200)}: ${why}`;
    if (said.size >= 64 || said.has(line)) return;
    said.add(line);
    opts.onNotice?.(line);
  };
  /** URIs whose update is being decided: a burst of updates for one URI is one decision. */
  const updating = new Set<string>();
  c.setNotificationHandler(
    ResourceUpdatedNotificationSchema,
    async (note: ResourceUpdatedNotification) => {
      const raw = String(note.params.uri);
      const n = normalizeUri(raw);
      if (!n.ok || !subs.has(n.uri)) return drop(raw, "the client did not subscribe to it");
      if (updating.has(n.uri)) return;
      updating.add(n.uri);
      try {
        const d = await gov.decideUri(n.uri, "notifications/resources/updated", false);
        if (d.no !== null) return drop(d.uri, d.no);
        await server.sendResourceUpdated({ uri: d.uri });
      } finally {
        updating.delete(n.uri);
      }
    },
  );
}
