/**
 * A loopback travel API for the trip-booking saga example: flights, hotels and payments.
 * Every booking honours an Idempotency-Key (a repeated key returns the same booking) and can
 * be cancelled by the key that made it.
 */

export interface Booking {
  kind: "flight" | "hotel" | "payment";
  key: string;
  details: Record<string, unknown>;
  cancelled: boolean;
}

export interface TravelServer {
  url: string;
  bookings: Map<string, Booking>;
  /** Make payments fail (402) from now on. */
  failPayments: boolean;
  /** Delay payment answers (to kill an agent mid-saga). */
  paymentDelayMs: number;
  close(): Promise<void>;
}

export function startTravelServer(): TravelServer {
  const state: TravelServer = {
    url: "",
    bookings: new Map(),
    failPayments: false,
    paymentDelayMs: 0,
    close: async () => {},
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const kinds: Record<string, Booking["kind"]> = {
      "/flights": "flight",
      "/hotels": "hotel",
      "/payments": "payment",
    };
    const kind = Object.hasOwn(kinds, url.pathname) ? kinds[url.pathname] : undefined;
    if (!kind) return Response.json({ error: "not found" }, { status: 404 });
    const key = req.headers.get("idempotency-key");
    if (!key) return Response.json({ error: "Idempotency-Key required" }, { status: 400 });
    if (req.method === "POST") {
      const existing = state.bookings.get(`${kind}:${key}`);
      if (existing) return Response.json(existing);
      if (kind === "payment" && state.paymentDelayMs > 0) {
        await new Promise((r) => setTimeout(r, state.paymentDelayMs));
        // The caller gave up (its saga was cancelled): take no payment.
        if (req.signal.aborted) return new Response(null, { status: 499 });
      }
      if (kind === "payment" && state.failPayments) {
        return Response.json({ error: "card declined" }, { status: 402 });
      }
      const b: Booking = { kind, key, details: await req.json(), cancelled: false };
      state.bookings.set(`${kind}:${key}`, b);
      return Response.json(b, { status: 201 });
    }
    if (req.method === "DELETE") {
      const b = state.bookings.get(`${kind}:${key}`);
      if (b) b.cancelled = true;
      return Response.json({ cancelled: !!b });
    }
    return Response.json({ error: "method not allowed" }, { status: 405 });
  });
  state.url = `http://127.0.0.1:${server.addr.port}`;
  state.close = () => server.shutdown();
  return state;
}
