/**
 * The egress proxy's connection handling, on a unix socket (the launcher's forwarder relays the
 * agent's loopback port to it from inside the agent's network namespace). Every request is
 * decided before anything leaves the host: an absolute-form request (`GET http://…`) as a fetch
 * of that URL; a CONNECT tunnel is answered 200 and then looked at — TLS is terminated with a
 * leaf of the host's egress CA and each request inside is decided as a fetch of
 * `https://authority/path`; plain HTTP inside is decided the same way (`http://`); anything else
 * is decided as a raw connection to host:port and relayed. The host then makes the request
 * itself (`EgressDeps.fetch`). Refusals are HTTP answers (403 with the reason), never hangs.
 */
import net from "node:net";
import tls from "node:tls";
import type { EgressCa } from "./ca.ts";
import { concat } from "../executors/http.ts";
import type { CheckedRequest, OutgoingRequest } from "../outputs/http.ts";
import {
  type ByteSource,
  HttpError,
  type HttpLimits,
  LIMITS,
  type RequestHead,
  RequestReader,
} from "./http1.ts";

/** Why a request was refused (null: allowed). */
export type Verdict = { reason: string; rule: string | null } | null;

/** What the proxy asks the host for. */
export interface EgressDeps {
  ca: EgressCa;
  /** Decide a fetch of `url` (full URL and method). */
  decideFetch(url: URL, method: string, headers: string[], bodyBytes: number): Promise<Verdict>;
  /** Decide a raw TCP connection. */
  decideConnect(host: string, port: number): Promise<Verdict>;
  /**
   * The output rules on an allowed request (URL, headers, body as they would leave): what may
   * be sent, or a refusal with its status. Absent: sent unchanged.
   */
  check?(req: OutgoingRequest): Promise<CheckedRequest>;
  /** Make the allowed request (no redirects followed). */
  fetch(url: URL, init: { method: string; headers: Headers; body?: Uint8Array }): Promise<Response>;
  limits?: Partial<
    HttpLimits & { connections: number; headMs: number; idleMs: number; sniffMs: number }
  >;
}

const CRLF = new Uint8Array([13, 10]);

const HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
]);

/** 'data' events as a pull source, with backpressure; `detach` hands the socket back. */
class SocketSource implements ByteSource {
  #queue: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | null = null;
  readonly #onData = (c: Uint8Array) => {
    this.#queue.push(new Uint8Array(c));
    if (this.#queue.length > 16) this.socket.pause();
    this.#notify();
  };
  readonly #onEnd = () => {
    this.#ended = true;
    this.#notify();
  };

  constructor(readonly socket: net.Socket) {
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
    socket.on("error", this.#onEnd);
  }

  #notify() {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async next(): Promise<Uint8Array | null> {
    for (;;) {
      const c = this.#queue.shift();
      if (c) return c;
      if (this.#ended) return null;
      this.socket.resume();
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  /** Stop reading; the bytes still queued (the caller puts them back or forwards them). */
  detach(): Uint8Array[] {
    this.socket.pause();
    this.socket.off("data", this.#onData);
    this.socket.off("end", this.#onEnd);
    this.socket.off("close", this.#onEnd);
    this.socket.off("error", this.#onEnd);
    const q = this.#queue;
    this.#queue = [];
    return q;
  }
}

/** A source that yields `first` chunks, then `rest`'s. */
function prepend(first: Uint8Array[], rest: ByteSource): ByteSource {
  return { next: async () => first.shift() ?? await rest.next() };
}

function write(s: net.Socket, data: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (s.destroyed) return reject(new Error("closed"));
    s.write(data, (e) => (e ? reject(e) : resolve()));
  });
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  408: "Request Timeout",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

/** A short plain-text answer (refusals and errors). */
function answer(status: number, text: string, close: boolean, extra: string[] = []): string {
  const body = `warden egress: ${text}\n`;
  return [
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}`,
    "content-type: text/plain; charset=utf-8",
    `content-length: ${new TextEncoder().encode(body).length}`,
    ...extra,
    ...(close ? ["connection: close"] : []),
    "",
    body,
  ].join("\r\n");
}

function timeout<T>(p: Promise<T>, ms: number, s: net.Socket): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timer = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new HttpError(408, "request head not received in time")), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t)).catch((e) => {
    if (e instanceof HttpError && e.status === 408) s.end(answer(408, e.message, true));
    throw e;
  });
}

/** The host:port of a CONNECT target (authority form only). */
export function parseAuthority(target: string): { host: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):(\d{1,5})$/.exec(target);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return null;
  return { host: m[1].toLowerCase(), port: Number(m[2]) };
}

/** The proxy server of one agent: listens on `path`; `close` stops it and every tunnel. */
export function serveEgress(path: string, deps: EgressDeps): { close(): Promise<void> } {
  const limits = {
    ...LIMITS,
    connections: 64,
    headMs: 30_000,
    idleMs: 120_000,
    sniffMs: 3_000,
    ...deps.limits,
  };
  const open = new Set<net.Socket>();
  const all = new Set<net.Socket>();
  const server = net.createServer((s) => {
    all.add(s);
    s.on("close", () => {
      open.delete(s);
      all.delete(s);
    });
    s.on("error", () => s.destroy());
    if (open.size >= limits.connections) {
      s.end(answer(503, `more than ${limits.connections} open connections`, true));
      return;
    }
    open.add(s);
    s.setTimeout(limits.idleMs, () => s.destroy());
    serveOuter(s, deps, limits).catch(() => s.destroy());
  });
  server.listen(path);
  return {
    close: () => {
      for (const s of all) s.destroy();
      // The listening socket closes now; its callback would wait for every peer's close.
      server.close();
      return Promise.resolve();
    },
  };
}

type Limits = HttpLimits & { headMs: number; sniffMs: number };

async function serveOuter(s: net.Socket, deps: EgressDeps, limits: Limits): Promise<void> {
  const source = new SocketSource(s);
  const reader = new RequestReader(source, limits);
  let head: RequestHead | null;
  try {
    head = await timeout(reader.head(), limits.headMs, s);
  } catch (e) {
    return refuseMalformed(s, e);
  }
  if (!head) return void s.end();
  if (head.method !== "CONNECT") return await serveRequests(s, reader, deps, limits, null, head);
  const to = parseAuthority(head.target);
  if (!to) return void s.end(answer(400, "malformed CONNECT target", true));
  if (reader.buffered.length || head.body.kind !== "none") {
    return void s.end(answer(400, "data before the tunnel was established", true));
  }
  await write(s, "HTTP/1.1 200 Connection Established\r\n\r\n");
  // What the client speaks first decides how the tunnel is governed: TLS, plain HTTP, or else
  // a raw connection (nothing within `sniffMs`: a server-first protocol). Port 443 is waited on.
  let sniff: ReturnType<typeof setTimeout> | undefined;
  const first = await Promise.race([
    source.next(),
    new Promise<"silent">((r) => {
      if (to.port !== 443) sniff = setTimeout(() => r("silent"), limits.sniffMs);
    }),
  ]).finally(() => clearTimeout(sniff));
  if (first === null) return void s.end();
  const queued = source.detach();
  const chunks = first === "silent" ? queued : [first, ...queued];
  if (first !== "silent" && first[0] === 0x16) {
    for (const c of chunks.reverse()) s.unshift(c);
    return await terminateTls(s, deps, limits, to);
  }
  if (
    first !== "silent" && /^[A-Z]{1,16} /.test(new TextDecoder().decode(first.subarray(0, 18)))
  ) {
    const inner = new RequestReader(prepend(chunks, new SocketSource(s)), limits);
    return await serveRequests(s, inner, deps, limits, { scheme: "http", ...to });
  }
  const verdict = await deps.decideConnect(to.host, to.port);
  if (verdict) return void s.destroy();
  const up = net.connect({ host: to.host.replace(/^\[|\]$/g, ""), port: to.port });
  up.on("error", () => s.destroy());
  s.on("close", () => up.destroy());
  up.on("close", () => s.destroy());
  for (const c of chunks) up.write(c);
  s.pipe(up);
  up.pipe(s);
  s.resume();
}

/** Terminate TLS with a leaf for the CONNECT host (what the client verifies), then serve. */
async function terminateTls(
  raw: net.Socket,
  deps: EgressDeps,
  limits: Limits,
  to: { host: string; port: number },
): Promise<void> {
  const leaf = await deps.ca.leaf(to.host.replace(/^\[|\]$/g, ""));
  const t = new tls.TLSSocket(raw, {
    isServer: true,
    secureContext: tls.createSecureContext(leaf),
  });
  t.on("error", () => raw.destroy());
  raw.on("close", () => t.destroy());
  const reader = new RequestReader(new SocketSource(t), limits);
  await serveRequests(t, reader, deps, limits, { scheme: "https", ...to });
}

function refuseMalformed(s: net.Socket, e: unknown): void {
  if (e instanceof HttpError) {
    if (e.status !== 408) s.end(answer(e.status, e.message, true));
    return;
  }
  s.destroy();
}

/** Read, decide and answer requests on one stream until it closes. */
async function serveRequests(
  s: net.Socket,
  reader: RequestReader,
  deps: EgressDeps,
  limits: Limits,
  origin: { scheme: "http" | "https"; host: string; port: number } | null,
  firstHead?: RequestHead,
): Promise<void> {
  let head: RequestHead | null = firstHead ?? null;
  for (;;) {
    let body: Uint8Array;
    let url: URL;
    try {
      head ??= await timeout(reader.head(), limits.headMs, s);
      if (!head) return void s.end();
      url = requestUrl(head, origin);
      body = await reader.body(head);
    } catch (e) {
      return refuseMalformed(s, e);
    }
    const close = head.close;
    const names = head.headers.map(([k]) => k).filter((k) => !HOP.has(k));
    const verdict = await deps.decideFetch(url, head.method, names, body.length);
    const checked = verdict ? null : await checkRequest(head, url, body, deps);
    const refusal = verdict
      ? { status: 403 as const, why: verdict.reason, rule: verdict.rule }
      : checked && !checked.ok
      ? { status: checked.status, why: `output rules: ${checked.reason}`, rule: checked.rule }
      : null;
    if (refusal) {
      const why = `${head.method} ${url.href} refused: ${refusal.why}` +
        (refusal.rule ? ` (rule ${refusal.rule})` : "");
      const rule = refusal.rule
        ? [`x-warden-rule: ${refusal.rule.replace(/[^\x21-\x7e]/g, "")}`]
        : [];
      await write(s, answer(refusal.status, why, close, rule));
    } else if (checked?.ok) {
      await relayResponse(s, head, url, checked.request, deps);
    }
    if (close) return void s.end();
    head = null;
  }
}

/** The full URL of a request: absolute form on the proxy, origin form inside a tunnel. */
function requestUrl(
  head: RequestHead,
  origin: { scheme: string; host: string; port: number } | null,
): URL {
  if (head.method === "CONNECT") throw new HttpError(400, "CONNECT inside a tunnel");
  let url: URL;
  try {
    if (origin) {
      if (!head.target.startsWith("/")) throw new Error();
      const port = (origin.scheme === "https" && origin.port === 443) ||
          (origin.scheme === "http" && origin.port === 80)
        ? ""
        : `:${origin.port}`;
      url = new URL(`${origin.scheme}://${origin.host}${port}${head.target}`);
    } else {
      if (!/^https?:\/\//i.test(head.target)) throw new Error();
      url = new URL(head.target);
    }
  } catch {
    throw new HttpError(400, "request target is not a full http(s) URL");
  }
  if (url.username || url.password) throw new HttpError(400, "credentials in the URL");
  return url;
}

/** The request as it would leave (hop-by-hop headers dropped), through the output rules. */
function checkRequest(
  head: RequestHead,
  url: URL,
  body: Uint8Array,
  deps: EgressDeps,
): Promise<CheckedRequest> {
  const connNamed = new Set(
    head.headers.filter(([k]) => k === "connection").flatMap(([, v]) =>
      v.toLowerCase().split(",").map((x) => x.trim())
    ),
  );
  const headers = head.headers.filter(([k]) => !HOP.has(k) && !connNamed.has(k));
  const req: OutgoingRequest = { url: url.href, headers, body: body.length ? body : null };
  return deps.check
    ? deps.check(req)
    : Promise.resolve({ ok: true, request: req, redacted: false });
}

async function relayResponse(
  s: net.Socket,
  head: RequestHead,
  url: URL,
  req: OutgoingRequest,
  deps: EgressDeps,
): Promise<void> {
  const headers = new Headers(req.headers);
  const body = req.body ?? new Uint8Array(0);
  let res: Response;
  try {
    res = await deps.fetch(url, {
      method: head.method,
      headers,
      ...(body.length || !["GET", "HEAD"].includes(head.method) ? { body } : {}),
    });
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split("\n")[0].slice(0, 300);
    return await write(s, answer(502, `${url.href}: ${why}`, head.close));
  }
  const lines = [`HTTP/1.1 ${res.status} ${res.statusText.replace(/[^\x20-\x7e]/g, "") || "-"}`];
  // fetch decoded any content-encoding: the length and encoding of the original do not apply.
  const drop = new Set([...HOP, "content-encoding", "set-cookie"]);
  res.headers.forEach((v, k) => {
    if (!drop.has(k)) lines.push(`${k}: ${v}`);
  });
  for (const c of res.headers.getSetCookie()) lines.push(`set-cookie: ${c}`);
  const bodyless = head.method === "HEAD" || res.status === 204 || res.status === 304 ||
    res.status < 200;
  if (!bodyless) lines.push("transfer-encoding: chunked");
  if (head.close) lines.push("connection: close");
  await write(s, lines.join("\r\n") + "\r\n\r\n");
  if (bodyless) return void (await res.body?.cancel());
  // One write per chunk, framing included (small writes would each wait on the peer's ACK).
  const enc = new TextEncoder();
  for await (const chunk of res.body ?? []) {
    if (!chunk.length) continue;
    await write(s, concat([enc.encode(chunk.length.toString(16) + "\r\n"), chunk, CRLF]));
  }
  await write(s, "0\r\n\r\n");
}
