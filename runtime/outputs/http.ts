/**
 * Output rules on an HTTP request leaving for an allowed host (channel `http.request`), the one
 * check of both ways out: the SDK's `http.fetch` and the egress proxy (plain HTTP and
 * intercepted HTTPS). What is scanned is what would be sent — the URL, every header name and
 * value, and the body — as one value `{ url, headers: { name: value | [values] }, body }`, so
 * findings are audited with paths like `$.headers.authorization` or `$.body`.
 *
 * - A secret in the URL or in a header name refuses the request (a rewritten URL could name
 *   another host; a rewritten name is no header). A header value is rewritten with the
 *   redaction; the body is too (the sender re-frames it: a new length, chunked or not).
 * - The body is read as UTF-8 when it is UTF-8, else byte for byte (latin1), so a binary body
 *   is scanned and redacted without changing its other bytes.
 * - `Content-Encoding: gzip` or `deflate` is decoded and scanned (and re-encoded when
 *   redacted), bounded like the rest; any other encoding, or several, is refused unscanned.
 * - Above the policy's scan cap (`outputs.max_bytes`, characters) nothing is scanned and the
 *   request is refused with 413.
 * A policy without output rules on `http.request` costs nothing: the request goes unchanged.
 * @module
 */
import { outputRulesOf } from "../../governance/outputs/mod.ts";
import { concat } from "../executors/http.ts";
import type { Ask, Governor, Subject } from "../governor.ts";
import { auditedUrl } from "./audited_url.ts";
import { guardOutput } from "./guard.ts";

/** A request about to leave: header names lower-cased, in order (repeats kept). */
export interface OutgoingRequest {
  url: string;
  headers: [string, string][];
  body: Uint8Array | null;
}

/** What may leave: the request (redacted or not), or why nothing does (HTTP status to answer). */
export type CheckedRequest =
  | { ok: true; request: OutgoingRequest; redacted: boolean }
  | { ok: false; status: 403 | 413; rule: string | null; reason: string };

/** Who sends, through which path. */
export interface RequestSite {
  governor: Governor;
  subject: Subject;
  path: Ask["path"];
}

const DECODABLE = new Set(["gzip", "x-gzip", "deflate"]);

/** Check `req` against the live policy's output rules (see the module comment). */
export async function guardRequest(
  site: RequestSite,
  req: OutgoingRequest,
): Promise<CheckedRequest> {
  const rules = outputRulesOf(site.governor.policy);
  if (rules.idle("http.request")) return { ok: true, request: req, redacted: false };
  // Audited as the audit log may hold it: what the rules find in the URL redacted.
  const shown = auditedUrl(site.governor.policy, req.url);
  const refuse = (status: 403 | 413, reason: string, rule: string | null = null) => {
    site.governor.record(
      site.subject,
      {
        path: site.path,
        action: "output.check",
        resource: `http.request:${shown}`.slice(0, 600),
      },
      { effect: "deny", rule, reason },
      { outcome: "deny", channel: "http.request", findings: [] },
    );
    return { ok: false as const, status, rule, reason };
  };
  const cap = rules.maxScan;
  let size = req.url.length;
  for (const [k, v] of req.headers) size += k.length + v.length + 8;
  if (size + (req.body?.length ?? 0) > cap) {
    return refuse(413, `request larger than ${cap} characters: not scanned (fail closed)`);
  }
  // The body as the server will read it: decoded when it is gzip or deflate.
  const codings = req.headers.filter(([k]) => k === "content-encoding")
    .flatMap(([, v]) => v.toLowerCase().split(",")).map((c) => c.trim())
    .filter((c) => c !== "" && c !== "identity");
  let coding: string | null = null;
  let plain = req.body;
  if (codings.length && req.body?.length) {
    if (codings.length > 1 || !DECODABLE.has(codings[0])) {
      return refuse(
        403,
        `request body in Content-Encoding ${codings.join(", ")}: not scanned (fail closed)`,
      );
    }
    coding = codings[0] === "deflate" ? "deflate" : "gzip";
    const d = await transform(
      req.body,
      new DecompressionStream(coding as CompressionFormat),
      cap - size,
    );
    if (d === "too large") {
      return refuse(
        413,
        `decoded request body larger than ${cap - size} bytes: not scanned (fail closed)`,
      );
    }
    if (d === "bad") {
      return refuse(403, `request body is not valid ${coding}: not scanned (fail closed)`);
    }
    plain = d;
  }
  const body = plain === null ? null : readBody(plain);
  // A header some rule's `except:` names for this host is checked alone, without that rule.
  const own: [string, string][] = [];
  const apart = new Map<string, string[]>();
  let changed = false;
  for (const [k, v] of req.headers) {
    const skip = rules.excepted(req.url, k);
    if (skip.size === 0) {
      own.push([k, v]);
      continue;
    }
    const g = guardOutput(
      { ...site, channel: "http.request", resource: shown, skip },
      { headers: headerObject([[k, v]]) },
    );
    if (!g.ok) return { ok: false, status: 403, rule: g.rule, reason: g.reason };
    const h = (g.value as { headers: Record<string, string> }).headers;
    if (!Object.hasOwn(h, k)) {
      return refuse(403, "a secret in a header name (not sent)", g.rule ?? null);
    }
    changed ||= h[k] !== v;
    apart.set(k, [...apart.get(k) ?? [], h[k]]);
  }
  const headers = headerObject(own);
  const g = guardOutput(
    { ...site, channel: "http.request", resource: shown },
    { url: req.url, headers, body: body?.text ?? null },
  );
  if (!g.ok) return { ok: false, status: 403, rule: g.rule, reason: g.reason };
  if (!g.redacted && !changed) return { ok: true, request: req, redacted: false };
  const out = g.value as {
    url: string;
    headers: Record<string, string | string[]>;
    body: string | null;
  };
  if (out.url !== req.url) {
    // A rewritten URL could name another host than the one allowed: never sent.
    return refuse(403, "a secret in the URL (redacted: not sent)", g.rule ?? null);
  }
  const names = Object.keys(out.headers);
  if (
    names.length !== Object.keys(headers).length || names.some((n) => !Object.hasOwn(headers, n))
  ) {
    return refuse(403, "a secret in a header name (not sent)", g.rule ?? null);
  }
  // Sent in the order asked, each value as checked.
  const next = new Map<string, string[]>(apart);
  for (const n of names) next.set(n, [out.headers[n]].flat());
  const sent: [string, string][] = req.headers.map(([k]) => [k, next.get(k)!.shift()!]);
  let bytes = req.body;
  if (body !== null && out.body !== null && out.body !== body.text) {
    bytes = body.encode(out.body);
    if (coding !== null) {
      const e = await transform(
        bytes,
        new CompressionStream(coding as CompressionFormat),
        Infinity,
      );
      if (typeof e === "string") {
        return refuse(403, `request body could not be re-encoded as ${coding}`);
      }
      bytes = e;
    }
  }
  return { ok: true, request: { url: req.url, headers: sent, body: bytes }, redacted: true };
}

/** Header pairs as the scanned object: a repeated name holds its values in order. */
function headerObject(pairs: [string, string][]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of pairs) {
    const had = Object.hasOwn(out, k) ? out[k] : undefined;
    Object.defineProperty(out, k, {
      value: had === undefined ? v : [had, v].flat(),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** The body as text: UTF-8 when it is, else one character per byte (both encode back exactly). */
function readBody(b: Uint8Array): { text: string; encode(s: string): Uint8Array } {
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(b);
    return { text, encode: (s) => new TextEncoder().encode(s) };
  } catch {
    let text = "";
    for (let i = 0; i < b.length; i += 8192) {
      text += String.fromCharCode(...b.subarray(i, i + 8192));
    }
    return {
      text,
      encode: (s) => {
        // Redaction markers are ASCII: every character is still one byte.
        const out = new Uint8Array(s.length);
        for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
        return out;
      },
    };
  }
}

/** Run `bytes` through a (de)compression stream, stopping above `max` bytes of output. */
async function transform(
  bytes: Uint8Array,
  stream: TransformStream<BufferSource, Uint8Array>,
  max: number,
): Promise<Uint8Array | "too large" | "bad"> {
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const written = writer.write(new Uint8Array(bytes)).then(() => writer.close()).catch(() => {});
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.length;
      if (n > max) {
        await reader.cancel().catch(() => {});
        return "too large";
      }
      parts.push(value);
    }
  } catch {
    return "bad";
  } finally {
    await written;
  }
  return concat(parts);
}
