/** For the test servers: record every message a server receives on stderr (`got <method> …`). */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** Wrap a started transport's message handler so each message is printed before it is handled. */
export function recordMessages(transport: Transport): void {
  const onmessage = transport.onmessage;
  transport.onmessage = (m: JSONRPCMessage) => {
    const msg = m as { method?: string; params?: unknown };
    if (msg.method) console.error(`got ${msg.method} ${JSON.stringify(msg.params ?? {})}`);
    onmessage?.(m);
  };
}
