/** HTTP performed by the host on an agent's behalf (after the policy allowed the exact URL). */
import type { HttpResult } from "../../sdk/wire_schema.ts";

/** Largest response body returned to an agent. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What the host sends for an allowed request. */
export interface HttpInit {
  method: string;
  headers: Record<string, string> | Headers | [string, string][];
  body?: string | Uint8Array<ArrayBuffer>;
  /** Extra upstream trust (a test CA, an operator's CA); the system roots otherwise. */
  client?: Deno.HttpClient;
}

/**
 * The one request the host makes for an agent (`http.fetch` and the egress proxy): no redirect
 * followed (a redirect target is a new URL the policy has not seen: the agent gets the 3xx and
 * must ask for the Location itself, which is decided again); the upstream certificate verified.
 */
export function httpRequest(url: string, init: HttpInit, signal: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: init.method,
    headers: init.headers,
    body: init.body,
    redirect: "manual",
    signal,
    ...(init.client ? { client: init.client } : {}),
  });
}

/** `http.fetch`: the request, its body read whole (up to MAX_BODY_BYTES) as text. */
export async function httpFetch(
  url: string,
  init: HttpInit,
  signal: AbortSignal,
): Promise<HttpResult> {
  const res = await httpRequest(url, init, signal);
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  let truncated = false;
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    const reader = res.body.getReader();
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.length > MAX_BODY_BYTES) {
        chunks.push(value.subarray(0, MAX_BODY_BYTES - size));
        truncated = true;
        await reader.cancel();
        break;
      }
      chunks.push(value);
      size += value.length;
    }
  }
  const body = new TextDecoder().decode(concat(chunks));
  return { status: res.status, headers, body, truncated };
}

/** Join byte chunks. */
export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
