/**
 * The gateway served over MCP's streamable-HTTP transport, for clients that are not the
 * gateway's parent process: one session (the gateway runs one server for one client), on
 * 127.0.0.1 by default, every request carrying `Authorization: Bearer <token>` (compared in
 * constant time), the Host header checked against the address served (DNS rebinding), an
 * Origin, when sent, only from loopback, and request bodies capped. The official SDK's
 * web-standard transport speaks the protocol; everything it carries is decided exactly as on
 * stdio, by the same gateway.
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { McpGateway } from "./gateway.ts";

/** How to serve. */
export interface HttpServeOptions {
  /** Default 127.0.0.1. */
  hostname?: string;
  /** 0 picks a free port. */
  port: number;
  /** The bearer token clients must present (at least 16 characters). */
  token: string;
  /** Largest request body in bytes (default 4 MiB). */
  maxBodyBytes?: number;
}

/** A gateway being served over HTTP. */
export interface HttpServed {
  /** `http://host:port/mcp`. */
  url: string;
  /** Stop serving (the gateway itself is closed by its owner). */
  close(): Promise<void>;
}

const PATH = "/mcp";
const LOOPBACK_ORIGIN = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;

function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function refuse(status: number, message: string, extra: HeadersInit = {}): Response {
  return Response.json(
    { jsonrpc: "2.0", id: null, error: { code: -32000, message } },
    { status, headers: extra },
  );
}

/** Serve `gw` over streamable HTTP; resolves once listening. */
export async function serveHttp(gw: McpGateway, o: HttpServeOptions): Promise<HttpServed> {
  if (o.token.length < 16) throw new Error("the HTTP token must be at least 16 characters");
  const hostname = o.hostname ?? "127.0.0.1";
  const max = o.maxBodyBytes ?? 4 * 1024 * 1024;
  let listening!: (port: number) => void;
  const ready = new Promise<number>((r) => (listening = r));
  let transport: WebStandardStreamableHTTPServerTransport | null = null;
  let hosts: string[] = [];
  const server = Deno.serve({
    hostname,
    port: o.port,
    onListen: ({ port }) => listening(port),
  }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname !== PATH) return refuse(404, `not found (the MCP endpoint is ${PATH})`);
    const auth = req.headers.get("authorization") ?? "";
    const m = /^Bearer (.+)$/.exec(auth);
    if (!m || !sameSecret(m[1], o.token)) {
      return refuse(401, "authentication required (Authorization: Bearer <token>)", {
        "WWW-Authenticate": 'Bearer realm="warden-mcp"',
      });
    }
    if (!hosts.includes(req.headers.get("host") ?? "")) {
      return refuse(403, "Host header does not name this server (DNS rebinding refused)");
    }
    const origin = req.headers.get("origin");
    if (origin !== null && !LOOPBACK_ORIGIN.test(origin)) {
      return refuse(403, `origin ${origin} refused (loopback only)`);
    }
    const length = Number(req.headers.get("content-length") ?? "0");
    if (!Number.isFinite(length) || length > max) {
      return refuse(413, `request body over ${max} bytes`);
    }
    let request = req;
    if (req.body && req.method === "POST") {
      // Chunked bodies have no length: read at most `max` bytes, then refuse.
      const body = await capped(req.body, max);
      if (body === null) return refuse(413, `request body over ${max} bytes`);
      request = new Request(req.url, { method: req.method, headers: req.headers, body });
    }
    return await transport!.handleRequest(request);
  });
  const port = await ready;
  hosts = [`${hostname}:${port}`, ...(hostname === "127.0.0.1" ? [`localhost:${port}`] : [])];
  transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: () => crypto.randomUUID(),
  });
  await gw.serve(transport);
  const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    url: `http://${shown}:${port}${PATH}`,
    close: async () => {
      await transport?.close().catch(() => {});
      await server.shutdown();
    },
  };
}

async function capped(
  body: ReadableStream<Uint8Array>,
  max: number,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > max) return null;
    parts.push(chunk);
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
