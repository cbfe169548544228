/**
 * The gateway's handshake with its server waits for the real client (issue 19): the server is
 * told the client capabilities the connected client declared — `roots`, `sampling`,
 * `elicitation` and their sub-fields the gateway can forward — less those the policy never
 * allows for this server (`mcp.roots`, `mcp.sampling`, `mcp.elicitation`), each such removal
 * audited as a deny. A server so sees exactly what it may ask for, and tools that depend on a
 * capability the client lacks are not offered by the server in the first place.
 *
 * `DeferredTransport` holds a client's transport while the gateway completes that handshake:
 * the client's `initialize` is read first, the upstream handshake made with its capabilities,
 * and only then is the gateway's server side connected and the held messages replayed.
 */
import type {
  Transport,
  TransportSendOptions,
} from "@modelcontextprotocol/sdk/shared/transport.js";
import type {
  ClientCapabilities,
  JSONRPCMessage,
  MessageExtraInfo,
} from "@modelcontextprotocol/sdk/types.js";
import type { McpDecisions } from "./decisions.ts";
import { FORWARDED_CLIENT_CAPABILITIES } from "./reverse.ts";

const ACTIONS: Record<string, string> = {
  roots: "mcp.roots",
  sampling: "mcp.sampling",
  elicitation: "mcp.elicitation",
};

/** What the gateway declares to its server, and why it withholds what it does not. */
export interface Upstream {
  capabilities: ClientCapabilities;
  /** Why a forwardable capability is not declared, by name (`sampling`, `roots`, …). */
  withheld(name: string): string;
}

/**
 * What the gateway declares to its server for a client that declared `declared`: only the
 * forwardable capabilities (and sub-fields) the client has, and only those the policy could
 * allow; each one the policy removes is audited as a deny.
 */
export function upstreamCapabilities(
  declared: ClientCapabilities | undefined,
  gov: McpDecisions,
): Upstream {
  const out: Record<string, Record<string, unknown>> = {};
  const byPolicy = new Map<string, string>();
  const forwardable = FORWARDED_CLIENT_CAPABILITIES as Record<string, Record<string, unknown>>;
  for (const [name, action] of Object.entries(ACTIONS)) {
    const mine = (declared as Record<string, unknown> | undefined)?.[name];
    if (!mine || typeof mine !== "object") continue;
    const ask = gov.ask(action, gov.handle.name, { capability: name });
    if (!gov.couldAllow(ask)) {
      const why = `the policy never allows ${action} for this server, so the gateway did not ` +
        `declare the client's ${name} capability to it`;
      gov.refuse(ask, `${name} for the server ${JSON.stringify(gov.handle.name)}`, why, {
        method: "initialize",
      });
      byPolicy.set(name, why);
      continue;
    }
    const fields: Record<string, unknown> = {};
    for (const k of Object.keys(forwardable[name])) {
      const v = (mine as Record<string, unknown>)[k];
      if (v !== undefined && v !== false) fields[k] = forwardable[name][k];
    }
    out[name] = fields;
  }
  return {
    capabilities: out as ClientCapabilities,
    withheld: (name) => byPolicy.get(name) ?? `the client did not declare ${name}`,
  };
}

/** A started transport whose first message (the client's `initialize`) is awaited apart. */
export class DeferredTransport implements Transport {
  onmessage?: Transport["onmessage"];
  onclose?: () => void;
  onerror?: (e: Error) => void;
  #inner: Transport;
  #held: [JSONRPCMessage, MessageExtraInfo | undefined][] = [];
  #live = false;
  #first: Promise<JSONRPCMessage>;

  constructor(inner: Transport) {
    this.#inner = inner;
    let first: (m: JSONRPCMessage) => void;
    let gone: (e: Error) => void;
    this.#first = new Promise((res, rej) => {
      first = res;
      gone = rej;
    });
    this.#first.catch(() => {});
    inner.onmessage = (m: JSONRPCMessage, extra?: MessageExtraInfo) => {
      if (this.#live) return this.onmessage?.(m, extra);
      if (this.#held.length === 0) first(m);
      if (this.#held.length < 64) this.#held.push([m, extra]);
    };
    inner.onclose = () => {
      gone(new Error("the client closed the connection before its initialize"));
      this.onclose?.();
    };
    inner.onerror = (e: Error) => this.onerror?.(e);
  }

  /** Start the client's transport; the first message it receives settles `first()`. */
  begin(): Promise<void> {
    return this.#inner.start();
  }

  /** The client's first message. */
  first(): Promise<JSONRPCMessage> {
    return this.#first;
  }

  /** The inner transport is started by `begin`; `start` (from the SDK's connect) replays. */
  start(): Promise<void> {
    queueMicrotask(() => {
      this.#live = true;
      for (const [m, extra] of this.#held.splice(0)) this.onmessage?.(m, extra);
    });
    return Promise.resolve();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.#inner.send(message, options);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  get sessionId(): string | undefined {
    return this.#inner.sessionId;
  }

  setProtocolVersion(version: string): void {
    this.#inner.setProtocolVersion?.(version);
  }
}
