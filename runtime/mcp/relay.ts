/**
 * What the gateway relays from one side to the other: progress under the requester's own
 * token, and JSON-RPC errors without the SDK's doubled prefix. The SDK's `McpError`
 * puts "MCP error <code>: " in front of its message, and the receiving side puts it there
 * again, so an error forwarded once read "MCP error -32602: MCP error -32602: …". Errors sent
 * from here carry the bare message (and the code and data), so the client adds the prefix once.
 */
import { ErrorCode, type Progress } from "@modelcontextprotocol/sdk/types.js";

/** What a handler uses of the SDK's per-request extra to send progress back. */
type Notifier = {
  sendNotification: (n: { method: string; params: Record<string, unknown> }) => Promise<void>;
};

/** Request options that carry progress back. */
export type ProgressOptions = {
  resetTimeoutOnProgress?: boolean;
  onprogress?: (p: Progress) => void;
};

/**
 * Run a forwarded request: when the requester gave a progress token, progress from the other
 * side goes back under that token, in order, before the result it precedes, and resets the
 * request's timeout.
 */
export async function withProgress<R>(
  token: string | number | undefined,
  extra: Notifier,
  run: (o: ProgressOptions) => Promise<R>,
): Promise<R> {
  if (token === undefined) return await run({});
  let sent: Promise<unknown> = Promise.resolve();
  const r = await run({
    resetTimeoutOnProgress: true,
    onprogress: (p: Progress) => {
      sent = sent.then(() =>
        extra.sendNotification({
          method: "notifications/progress",
          params: { ...p, progressToken: token },
        })
      ).catch(() => {});
    },
  });
  await sent;
  return r;
}

/** An error the SDK's protocol layer sends as `{ code, message, data }`, message unprefixed. */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(bare(message));
    this.name = "RpcError";
    this.code = code;
    this.data = data;
  }
}

/** A message without any leading "MCP error <code>: " prefixes. */
export function bare(message: string): string {
  return message.replace(/^(?:MCP error -?\d+: )+/, "");
}

/** Any error on its way to the other side, as an RpcError (internal error when it has no code). */
export function forwarded(e: unknown): RpcError {
  if (e instanceof RpcError) return e;
  const err = e as { code?: unknown; message?: unknown; data?: unknown } | null;
  const code = typeof err?.code === "number" && Number.isSafeInteger(err.code)
    ? err.code
    : ErrorCode.InternalError;
  return new RpcError(code, String(err?.message ?? e), err?.data);
}

/** Wrap a request handler so whatever it throws goes on with one prefix. */
export function relayErrors<A extends unknown[], R>(
  fn: (...args: A) => R | Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (e) {
      throw forwarded(e);
    }
  };
}
