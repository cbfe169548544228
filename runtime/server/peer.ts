/** The minimal host-to-host endpoint: POST /warden/v1/messages {envelope, payload}. */
import { z } from "zod";
import type { MessageRouter } from "../messages/router.ts";

const MAX_BODY = 512 * 1024;
const Incoming = z.strictObject({ envelope: z.unknown(), payload: z.unknown() });

/** Serve the peer endpoint on loopback; returns its base URL and a shutdown function. */
export function servePeer(
  router: MessageRouter,
  o: { port?: number; hostname?: string } = {},
): { url: string; shutdown: () => Promise<void> } {
  const server = Deno.serve(
    { hostname: o.hostname ?? "127.0.0.1", port: o.port ?? 0, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      if (url.pathname !== "/warden/v1/messages") {
        return Response.json({ error: "not found" }, { status: 404 });
      }
      if (req.method !== "POST") {
        return Response.json({ error: "method not allowed" }, { status: 405 });
      }
      const length = Number(req.headers.get("content-length") ?? "0");
      if (length > MAX_BODY) return Response.json({ error: "body too large" }, { status: 413 });
      const text = await req.text();
      if (text.length > MAX_BODY) {
        return Response.json({ error: "body too large" }, { status: 413 });
      }
      let body;
      try {
        body = Incoming.parse(JSON.parse(text));
      } catch {
        return Response.json({ error: "malformed request" }, { status: 400 });
      }
      const r = await router.deliver(body.envelope, body.payload);
      return r.ok
        ? Response.json({ ok: true }, { status: 202 })
        : Response.json({ error: r.reason }, { status: r.status });
    },
  );
  return { url: `http://127.0.0.1:${server.addr.port}`, shutdown: () => server.shutdown() };
}
