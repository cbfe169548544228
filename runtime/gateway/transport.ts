/**
 * The SDK gateway's transport: length-prefixed JSON frames on a unix socket that serves one
 * connection. Oversized frames, floods of malformed frames or invalid requests and second
 * connections are protocol violations; requests past the in-flight cap or the rate limit are
 * answered `busy`; once closed, requests are answered `killed`. Valid requests go to `handle`.
 */
import { encodeFrame, FrameDecoder } from "../../sdk/frames.ts";
import {
  MAX_REQUEST_BYTES,
  MAX_RESPONSE_BYTES,
  type Refusal,
  type SdkRequest,
  type SdkResponse,
} from "../../sdk/wire_schema.ts";
import { parseSdkRequest } from "./parse_request.ts";
import { OneConnectionSocket, TokenBucket } from "./unix_socket.ts";

export interface GatewayLimits {
  maxInFlight: number;
  /** Sustained requests per second (token bucket). */
  ratePerSecond: number;
  burst: number;
  /** Malformed frames tolerated before the agent is ended. */
  maxMalformed: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  maxInFlight: 64,
  ratePerSecond: 5000,
  burst: 5000,
  maxMalformed: 100,
};

export interface TransportOptions {
  path: string;
  limits: GatewayLimits;
  onConnect?: () => void;
  /** A protocol violation: the agent is to be ended (and the transport closed). */
  onViolation: (why: string) => void;
  /** A frame that is not a valid request (answered `invalid`; audit it here). */
  onInvalid: (value: unknown, message: string) => void;
  /** Perform a valid request; what it throws is answered as `refusal(e)`. */
  handle: (req: SdkRequest) => Promise<unknown>;
  refusal: (e: unknown) => Refusal;
}

export class FrameTransport {
  readonly #socket: OneConnectionSocket;
  readonly #bucket: TokenBucket;
  #closed = false;
  #inFlight = 0;
  #malformed = 0;
  #writeChain: Promise<void> = Promise.resolve();
  /** Replies queued or being written: with none, a reply is written at once (no chain hop). */
  #queued = 0;
  /** Requests handled (for stats). */
  handled = 0;

  constructor(readonly opts: TransportOptions) {
    this.#bucket = new TokenBucket(opts.limits.ratePerSecond, opts.limits.burst);
    this.#socket = new OneConnectionSocket(opts.path, (conn) => {
      opts.onConnect?.();
      this.#serve(conn);
    }, () => this.#violation("a second connection to the SDK socket"));
  }

  /** Change the rate limit (the burst follows it). */
  setRate(perSecond: number): void {
    this.opts.limits.ratePerSecond = perSecond;
    this.opts.limits.burst = Math.max(1, perSecond);
    this.#bucket.set(perSecond, this.opts.limits.burst);
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const dec = new FrameDecoder(MAX_REQUEST_BYTES);
    const buf = new Uint8Array(64 * 1024);
    const { limits } = this.opts;
    try {
      while (!this.#closed) {
        const n = await conn.read(buf);
        if (n === null) break;
        for (const ev of dec.push(buf.subarray(0, n))) {
          if (ev.kind === "oversized") {
            this.#violation(`oversized SDK frame (${ev.size} bytes > ${MAX_REQUEST_BYTES})`);
            return;
          }
          if (ev.kind === "malformed") {
            this.#reply({
              id: null,
              ok: false,
              error: { code: "invalid", message: `malformed frame: ${ev.error}` },
            });
            if (++this.#malformed > limits.maxMalformed) {
              this.#violation(`more than ${limits.maxMalformed} malformed SDK frames`);
              return;
            }
            continue;
          }
          this.#dispatch(ev.value);
        }
      }
    } catch { /* connection reset */ }
  }

  #dispatch(value: unknown): void {
    const rawId = value !== null && typeof value === "object" && "id" in value
      ? (value as { id: unknown }).id
      : null;
    const id = typeof rawId === "number" && Number.isSafeInteger(rawId) && rawId >= 0
      ? rawId
      : null;
    if (this.#closed) {
      this.#reply({
        id,
        ok: false,
        error: { code: "killed", message: "the agent has been stopped" },
      });
      return;
    }
    const parsed = parseSdkRequest(value);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      const message = `invalid request: ${i.path.join(".") || "request"}: ${i.message}`;
      this.opts.onInvalid(value, message);
      this.#reply({ id, ok: false, error: { code: "invalid", message } });
      if (++this.#malformed > this.opts.limits.maxMalformed) {
        this.#violation("too many invalid SDK requests");
      }
      return;
    }
    const req = parsed.data;
    if (this.#inFlight >= this.opts.limits.maxInFlight || !this.#bucket.take()) {
      this.#reply({
        id: req.id,
        ok: false,
        error: { code: "busy", message: "too many SDK requests; slow down" },
      });
      return;
    }
    this.#inFlight++;
    this.handled++;
    this.opts.handle(req).then(
      (result) => {
        this.#inFlight--;
        try {
          this.#reply({ id: req.id, ok: true, result: result ?? null });
        } catch (e) { // a result that cannot be encoded is answered as the op's failure
          this.#reply({ id: req.id, ok: false, error: this.opts.refusal(e) });
        }
      },
      (e) => {
        this.#inFlight--;
        this.#reply({ id: req.id, ok: false, error: this.opts.refusal(e) });
      },
    );
  }

  #reply(r: SdkResponse): void {
    const conn = this.#socket.conn;
    if (!conn) return;
    let bytes = encodeFrame(r);
    if (bytes.length > MAX_RESPONSE_BYTES + 4) {
      bytes = encodeFrame({
        id: r.id,
        ok: false,
        error: { code: "failed", message: "result too large" },
      });
    }
    // One reply's bytes at a time, in order: a reply waits for the ones queued before it.
    const write = async () => {
      let off = 0;
      try {
        while (off < bytes.length) off += await conn.write(bytes.subarray(off));
      } catch {
        /* agent gone */
      } finally {
        this.#queued--;
      }
    };
    this.#writeChain = ++this.#queued === 1 ? write() : this.#writeChain.then(write);
  }

  #violation(why: string): void {
    this.opts.onViolation(why);
  }

  /** Stop serving: later requests are answered `killed`; the socket is closed and removed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }
}
