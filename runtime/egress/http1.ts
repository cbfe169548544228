/**
 * A strict HTTP/1.1 request reader for the egress proxy. Strict on purpose: anything two
 * parsers could read differently (request smuggling) is refused, not repaired — both
 * Content-Length and Transfer-Encoding, a transfer coding other than exactly `chunked`,
 * repeated or non-numeric lengths, folded (obs-fold) or bare-LF header lines, control
 * characters, oversized heads, lines, bodies or header counts. The reader pulls from a byte
 * source (`ByteSource`), so the same code reads the plain stream and the one inside TLS.
 */
import { concat } from "../executors/http.ts";

/** Limits of one request (defaults: `LIMITS`). */
export interface HttpLimits {
  /** Request line and headers together. */
  headBytes: number;
  headers: number;
  /** A request body (Content-Length or all chunks together). */
  bodyBytes: number;
}

export const LIMITS: HttpLimits = { headBytes: 32 * 1024, headers: 100, bodyBytes: 8 << 20 };

/** One parsed request head. */
export interface RequestHead {
  method: string;
  target: string;
  version: "HTTP/1.1" | "HTTP/1.0";
  /** Header names lower-cased, in order; values trimmed. */
  headers: [string, string][];
  /** The body's framing. */
  body: { kind: "none" } | { kind: "length"; n: number } | { kind: "chunked" };
  /** The client asked to close after this request (or spoke HTTP/1.0 without keep-alive). */
  close: boolean;
}

/** Something the reader refuses: answered 400 (or 431/413) with `message`, then closed. */
export class HttpError extends Error {
  constructor(readonly status: 400 | 408 | 413 | 431, message: string) {
    super(message);
  }
}

/** Pulls bytes: `next()` resolves the next chunk, or null at the end of the stream. */
export interface ByteSource {
  next(): Promise<Uint8Array | null>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const METHOD = /^[A-Z]{1,16}$/;
// deno-lint-ignore no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
// deno-lint-ignore no-control-regex
const BAD_TARGET = /[\x00-\x20\x7f]/;

/** Buffered reading of a ByteSource: heads, exact byte counts, chunked bodies. */
export class RequestReader {
  #buf = new Uint8Array(0);
  #ended = false;

  constructor(readonly source: ByteSource, readonly limits: HttpLimits = LIMITS) {}

  /** Bytes read from the source and not consumed yet. */
  get buffered(): Uint8Array {
    return this.#buf;
  }

  async #fill(): Promise<boolean> {
    if (this.#ended) return false;
    const c = await this.source.next();
    if (c === null) {
      this.#ended = true;
      return false;
    }
    const b = new Uint8Array(this.#buf.length + c.length);
    b.set(this.#buf);
    b.set(c, this.#buf.length);
    this.#buf = b;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** The first byte of what comes next (null at the end), without consuming it. */
  async peek(): Promise<number | null> {
    while (this.#buf.length === 0) if (!(await this.#fill())) return null;
    return this.#buf[0];
  }

  /** The next request head; null at a clean end of stream (between requests). */
  async head(): Promise<RequestHead | null> {
    let end = -1;
    let from = 0;
    while ((end = indexOfCrlfCrlf(this.#buf, from)) < 0) {
      if (this.#buf.length > this.limits.headBytes) {
        throw new HttpError(431, "request head too large");
      }
      from = Math.max(0, this.#buf.length - 3);
      if (!(await this.#fill())) {
        if (this.#buf.length === 0) return null;
        throw new HttpError(400, "incomplete request head");
      }
    }
    if (end + 4 > this.limits.headBytes) throw new HttpError(431, "request head too large");
    const text = latin1(this.#take(end + 4)).slice(0, end);
    return parseHead(text, this.limits);
  }

  /** Exactly `n` bytes (the stream ending first is an error). */
  async exact(n: number): Promise<Uint8Array> {
    while (this.#buf.length < n) {
      if (!(await this.#fill())) throw new HttpError(400, "body shorter than its length");
    }
    return this.#take(n);
  }

  async #line(max: number): Promise<string> {
    let i: number;
    while ((i = indexOfCrlf(this.#buf)) < 0) {
      if (this.#buf.length > max) throw new HttpError(400, "chunk line too long");
      if (!(await this.#fill())) throw new HttpError(400, "incomplete chunked body");
    }
    const line = latin1(this.#take(i + 2)).slice(0, i);
    if (line.includes("\n") || line.includes("\r")) throw new HttpError(400, "bare CR or LF");
    return line;
  }

  /** The body the head announces, whole (bounded by `limits.bodyBytes`). */
  async body(h: RequestHead): Promise<Uint8Array> {
    if (h.body.kind === "none") return new Uint8Array(0);
    if (h.body.kind === "length") return await this.exact(h.body.n);
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const line = await this.#line(64);
      const m = /^([0-9a-fA-F]{1,8})(;[\x21-\x7e \t]*)?$/.exec(line);
      if (!m) throw new HttpError(400, "bad chunk size");
      const n = parseInt(m[1], 16);
      if (n === 0) break;
      size += n;
      if (size > this.limits.bodyBytes) throw new HttpError(413, "request body too large");
      parts.push(await this.exact(n));
      if ((await this.#line(2)) !== "") throw new HttpError(400, "chunk without its CRLF");
    }
    // Trailers are read and dropped (bounded like headers).
    for (let k = 0;; k++) {
      if ((await this.#line(8192)) === "") break;
      if (k >= this.limits.headers) throw new HttpError(431, "too many trailer fields");
    }
    return concat(parts);
  }
}

/** Parse a request head (without its final CRLFCRLF). */
export function parseHead(text: string, limits: HttpLimits = LIMITS): RequestHead {
  const lines = text.split("\r\n");
  const start = lines[0];
  if (lines.some((l) => l.includes("\n") || l.includes("\r"))) {
    throw new HttpError(400, "bare CR or LF in the request head");
  }
  const parts = start.split(" ");
  if (parts.length !== 3) throw new HttpError(400, "malformed request line");
  const [method, target, version] = parts;
  if (!METHOD.test(method)) throw new HttpError(400, "malformed method");
  if (!target || target.length > 8192 || BAD_TARGET.test(target)) {
    throw new HttpError(400, "malformed request target");
  }
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    throw new HttpError(400, "unsupported HTTP version");
  }
  if (lines.length - 1 > limits.headers) throw new HttpError(431, "too many header fields");
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith(" ") || line.startsWith("\t")) {
      throw new HttpError(400, "folded header line");
    }
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) throw new HttpError(400, "malformed header name");
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (BAD_VALUE.test(value)) throw new HttpError(400, "control character in a header value");
    headers.push([name.toLowerCase(), value]);
  }
  const all = (n: string) => headers.filter(([k]) => k === n).map(([, v]) => v);
  const te = all("transfer-encoding");
  const cl = all("content-length");
  let body: RequestHead["body"] = { kind: "none" };
  if (te.length && cl.length) {
    throw new HttpError(400, "both Content-Length and Transfer-Encoding (refused: smuggling)");
  }
  if (te.length) {
    if (te.length !== 1 || te[0].toLowerCase() !== "chunked" || version === "HTTP/1.0") {
      throw new HttpError(400, "unsupported Transfer-Encoding");
    }
    body = { kind: "chunked" };
  } else if (cl.length) {
    if (cl.length !== 1 || !/^\d{1,12}$/.test(cl[0])) {
      throw new HttpError(400, "malformed or repeated Content-Length");
    }
    const n = Number(cl[0]);
    if (n > limits.bodyBytes) throw new HttpError(413, "request body too large");
    if (n > 0) body = { kind: "length", n };
  }
  if (all("host").length > 1) throw new HttpError(400, "repeated Host header");
  const conn = all("connection").join(",").toLowerCase();
  const close = version === "HTTP/1.0" ? !/\bkeep-alive\b/.test(conn) : /\bclose\b/.test(conn);
  return { method, target, version, headers, body, close };
}

function indexOfCrlfCrlf(b: Uint8Array, from: number): number {
  for (let i = from; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

function indexOfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 1 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10) return i;
  return -1;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode(...b.subarray(i, i + 8192));
  }
  return s;
}
