/**
 * Resource URIs (MCP `resources/read`, embedded resources, resource links) in one canonical
 * form, so that a policy decides the resource the server will resolve, not the spelling a
 * client chose. The MCP gateway decides the canonical form and forwards exactly that form to
 * the server; whatever cannot be put in canonical form without guessing is refused.
 *
 * The rule (RFC 3986 section 6 syntax-based normalization, plus fail-closed refusals):
 * - Unicode NFC; a fragment (`#…`) is removed (it never addresses a different resource).
 * - Scheme lowercase (`DEMO:` is `demo:`); a URI without a scheme is refused.
 * - Authority: host lowercase, a default port (`http` 80, `https`/`wss` 443, `ws` 80, `ftp`
 *   21) and an empty port removed, trailing dots removed; user information (`user@host`) is
 *   refused, and so is a host with percent-encoding or characters outside RFC 3986's reg-name.
 * - `file:` URIs: `file://localhost/p` and `file:/p` are `file:///p`; a relative `file:` URI
 *   and a `file:` URI with a query are refused (a file has no query: servers drop it).
 * - Percent-encoding: an escape of an unreserved character (`A-Z a-z 0-9 - . _ ~`) is decoded
 *   (`%2e` is `.`, `%73` is `s`); escaped UTF-8 is decoded, put in NFC with the text around it
 *   and encoded again (`e%CC%81` is `%C3%A9`); every other escape is written in uppercase hex; a
 *   `%` not followed by two hex digits, and escaped bytes that are not UTF-8 (overlong
 *   `%C0%AE`), are refused. Characters that may not appear raw in a URI (space,
 *   `"`, `<`, `>`, `{`, `}`, `|`, `^`, backquote, `[`, `]` outside a host, non-ASCII) are
 *   percent-encoded as UTF-8.
 * - Path: `.` and `..` segments are resolved (never above the root) after decoding, and empty
 *   segments (`//`) are removed; a trailing slash is kept.
 * - Refused: NUL and other control characters, raw or encoded (`%00`-`%1F`, `%7F`), C1
 *   controls, a backslash (some parsers read it as `/`), an encoded slash or backslash in the
 *   path (`%2F`, `%5C`: one server splits on it, another does not), an encoded escape in the
 *   path (`%252e` is `.` to a server that decodes twice), and anything longer than 8192
 *   characters.
 *
 * The result is a fixed point: normalizing it again returns it unchanged. Pure, no I/O.
 * @module
 */
import { MAX_STRING_LENGTH, nfc } from "./normalize.ts";

/** A normalized URI, or why it cannot be normalized. */
export type UriResult = { ok: true; uri: string } | { ok: false; reason: string };

const DEFAULT_PORTS: Readonly<Record<string, string>> = {
  http: "80",
  https: "443",
  ws: "80",
  wss: "443",
  ftp: "21",
};
/** Schemes whose empty path is `/` (WHATWG "special" schemes). */
const SPECIAL = new Set(["http", "https", "ws", "wss", "ftp", "file"]);
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const UNRESERVED = /[A-Za-z0-9\-._~]/;
/** May appear raw in a path or query (unreserved, sub-delims, `:`, `@`, `/`, `?`). */
const RAW_OK = /[A-Za-z0-9\-._~!$&'()*+,;=:@/?]/;
const HOST_OK = /^[a-z0-9\-._~!$&'()*+,;=]*$/;
const HEX = /^[0-9A-Fa-f]{2}$/;
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/**
 * Stands in for a template expression while a template's literal text is normalized: plain
 * lowercase letters and digits, so it is unchanged in a host or a path.
 */
const HOLE = "wardenhole7f3a9c";

const fail = (reason: string): UriResult => ({ ok: false, reason });

/**
 * Normalize percent-encoding of a path or query. Returns null and sets `why` on what cannot
 * be normalized. Escapes of unreserved characters are decoded; escaped UTF-8 is decoded too,
 * put in NFC together with the characters around it, and encoded again (so `e%CC%81`, `é` and
 * `%c3%a9` are one spelling); other escapes stay, in uppercase. `path`: an encoded `/` or `\`
 * and an encoded escape (`%252e`, read as `.` by a server that decodes twice) are refused.
 */
function percent(s: string, path: boolean, why: { reason: string }): string | null {
  /** Finished output, and the text of the current run (decoded, not yet NFC or encoded). */
  let out = "";
  let run = "";
  const flush = (): boolean => {
    for (const ch of nfc(run)) {
      if (RAW_OK.test(ch)) out += ch;
      else if (CONTROL.test(ch)) {
        why.reason = "an encoded control character";
        return false;
      } else {
        try {
          out += encodeURIComponent(ch);
        } catch {
          why.reason = "a lone surrogate";
          return false;
        }
      }
    }
    run = "";
    return true;
  };
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch !== "%") {
      run += ch;
      continue;
    }
    // A run of escapes: bytes of UTF-8 are decoded into the run, ASCII ones one by one.
    const bytes: number[] = [];
    while (i < s.length && s[i] === "%") {
      const hex = s.slice(i + 1, i + 3);
      if (!HEX.test(hex)) {
        why.reason = `invalid percent-encoding "${s.slice(i, i + 3)}"`;
        return null;
      }
      const b = parseInt(hex, 16);
      if (b < 0x80) break;
      bytes.push(b);
      i += 3;
    }
    if (bytes.length > 0) {
      try {
        run += UTF8.decode(new Uint8Array(bytes));
      } catch {
        why.reason = "percent-encoded bytes that are not UTF-8";
        return null;
      }
      i--; // the loop's i++ moves to the character after the run
      continue;
    }
    const hex = s.slice(i + 1, i + 3).toUpperCase();
    const b = parseInt(hex, 16);
    if (b < 0x20 || b === 0x7f) {
      why.reason = `an encoded control character (%${hex})`;
      return null;
    }
    if (path && (b === 0x2f || b === 0x5c)) {
      why.reason = `an encoded ${b === 0x2f ? "slash" : "backslash"} (%${hex}) in the path is ` +
        "ambiguous";
      return null;
    }
    const c = String.fromCharCode(b);
    if (UNRESERVED.test(c)) run += c;
    else {
      // A reserved character stays encoded (it means something else raw).
      if (!flush()) return null;
      out += `%${hex}`;
    }
    i += 2;
  }
  if (!flush()) return null;
  const twice = path ? /%25[0-9A-F]{2}/i.exec(out) : null;
  if (twice) {
    why.reason = `an encoded escape (${twice[0]}) in the path is ambiguous`;
    return null;
  }
  return out;
}

/** Resolve `.`/`..` and drop empty segments; keeps a leading `/` and a trailing slash. */
function dotSegments(path: string): string {
  if (path === "") return "";
  const absolute = path.startsWith("/");
  const parts = path.split("/");
  const last = parts[parts.length - 1];
  const trailing = parts.length > 1 && (last === "" || last === "." || last === "..");
  const out: string[] = [];
  for (const seg of parts) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  if (out.length === 0) return absolute ? "/" : "";
  return (absolute ? "/" : "") + out.join("/") + (trailing ? "/" : "");
}

/** Put a resource URI in canonical form (see the module documentation for the rule). */
export function normalizeUri(input: string): UriResult {
  if (typeof input !== "string" || input.length === 0) return fail("an empty URI");
  if (input.length > MAX_STRING_LENGTH) return fail(`longer than ${MAX_STRING_LENGTH} characters`);
  if (CONTROL.test(input)) return fail("a control character");
  if (input.includes("\\")) return fail("a backslash");
  const s = nfc(input);
  const m = SCHEME.exec(s);
  if (!m) return fail("no scheme");
  const scheme = m[1].toLowerCase();
  let rest = s.slice(m[0].length);
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);
  let query: string | undefined;
  const q = rest.indexOf("?");
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let authority: string | undefined;
  let path = rest;
  if (rest.startsWith("//")) {
    const end = rest.indexOf("/", 2);
    authority = end < 0 ? rest.slice(2) : rest.slice(2, end);
    path = end < 0 ? "" : rest.slice(end);
  }
  const why = { reason: "" };
  let host = "";
  if (authority !== undefined) {
    if (authority.includes("@")) return fail("user information in the authority");
    let port = "";
    let h = authority;
    if (h.startsWith("[")) {
      const close = h.indexOf("]");
      if (close < 0) return fail("an unterminated IPv6 literal");
      const ip = h.slice(1, close).toLowerCase();
      if (!/^[0-9a-f:.]+$/.test(ip)) return fail("an invalid IPv6 literal");
      const after = h.slice(close + 1);
      if (after !== "" && !after.startsWith(":")) return fail("an invalid authority");
      port = after.slice(1);
      h = `[${ip}]`;
    } else {
      const colon = h.lastIndexOf(":");
      if (colon >= 0) {
        port = h.slice(colon + 1);
        h = h.slice(0, colon);
      }
      // Only unreserved escapes are allowed in a host; they are decoded.
      const dec = percent(h, true, why);
      if (dec === null) return fail(`${why.reason} in the host`);
      h = dec.toLowerCase();
      if (!HOST_OK.test(h)) return fail("a host with characters outside RFC 3986");
      while (h.length > 1 && h.endsWith(".")) h = h.slice(0, -1); // `docs.` is `docs`
    }
    if (!/^[0-9]*$/.test(port)) return fail("a port that is not a number");
    port = port.replace(/^0+(?=\d)/, "");
    if (port !== "" && DEFAULT_PORTS[scheme] === port) port = "";
    if (scheme === "file" && h === "localhost") h = "";
    host = port === "" ? h : `${h}:${port}`;
  }
  if (scheme === "file") {
    if (query !== undefined) return fail("a query in a file: URI");
    if (authority === undefined) {
      if (!path.startsWith("/")) return fail("a relative file: URI");
      authority = "";
    }
  }
  const p = percent(path, true, why);
  if (p === null) return fail(why.reason);
  path = dotSegments(p);
  if (authority !== undefined && path === "" && SPECIAL.has(scheme)) path = "/";
  // Without an authority a path must not begin with `//` (it would read as one): dotSegments
  // never leaves an empty segment, so it cannot.
  let out = `${scheme}:${authority !== undefined ? `//${host}` : ""}${path}`;
  if (query !== undefined && query !== "") {
    const qq = percent(query, false, why);
    if (qq === null) return fail(`${why.reason} in the query`);
    out += `?${qq}`;
  }
  if (out.length > MAX_STRING_LENGTH) return fail(`longer than ${MAX_STRING_LENGTH} characters`);
  return { ok: true, uri: out };
}

/**
 * Could some expansion of an RFC 6570 URI template (`demo://docs/{name}`) equal the normalized
 * URI `uri`? Conservative toward yes: every expression may expand to anything, and literal
 * text is compared after the same normalization where it can be, case-insensitively.
 */
export function templateMayMatch(template: string, uri: string): boolean {
  if (template.length > MAX_STRING_LENGTH) return true;
  const parts = template.split(/\{[^{}]*\}/);
  if (parts.length === 1) {
    const n = normalizeUri(template);
    return n.ok ? n.uri === uri : false;
  }
  // Compared without case and with runs of `/` as one (the literal text may be spelled
  // differently), by a linear scan: a server's template must not cost the host a regex.
  const flat = (t: string) => t.replace(/\/+/g, "/").toLowerCase();
  const test = (ps: string[]) => {
    const lits = ps.map(flat);
    for (let i = 1; i < lits.length; i++) {
      // An expression may expand to nothing: `a/{x}/b` can read `a/b`.
      if (lits[i - 1].endsWith("/") && lits[i].startsWith("/")) lits[i] = lits[i].slice(1);
    }
    let decoded = uri;
    try {
      decoded = decodeURIComponent(uri);
    } catch { /* keep the encoded form */ }
    return globMatch(lits, flat(uri)) || globMatch(lits, flat(decoded));
  };
  if (test(parts)) return true;
  // The literal text in normalized form too (`DEMO://a/x/../{id}` expands under `demo://a/`):
  // each expression stands in as HOLE while the rest is normalized.
  const held = normalizeUri(parts.join(HOLE));
  return held.ok && test(held.uri.split(HOLE));
}

/** Truth-value bits as in reach.ts (MAY_F, MAY_T): could be false, could be true. */
const MAY_F = 1, MAY_T = 2;
const EXPRESSION = /\{[^{}]*\}/;

/** A template's literal text in normalized form, split where its expressions are. */
function templateLiterals(template: string): string[] | null {
  if (template.length > MAX_STRING_LENGTH) return null;
  const parts = template.split(new RegExp(EXPRESSION.source, "g"));
  const held = normalizeUri(parts.join(HOLE));
  if (!held.ok) return null;
  const lits = held.uri.split(HOLE);
  // An expression folded away by normalization (`{x}/..`) leaves no shape to judge by.
  return lits.length === parts.length ? lits : null;
}

/**
 * The shape of an RFC 6570 URI template, for `CompiledPolicy.couldAllow`: the URIs a template
 * describes are its literal text, normalized, with each expression standing for any
 * non-empty text. (An expansion whose values carry dot segments or escapes that move it out of
 * that shape names another resource, decided like any other when it is read.) `leaf` gives
 * the truth values a condition on `resource` could take over those URIs for `eq in ne not_in
 * prefix suffix contains exists`, and nothing (any) for the other operators, for values with
 * variables, and for a template whose text cannot be normalized.
 */
export function templateShape(
  template: string,
): { may(normalized: string): boolean; leaf(op: string, value: unknown): number | undefined } {
  const lits = templateLiterals(template);
  return {
    may: (n) => templateMayMatch(template, n),
    leaf: (op, value) => (lits ? leafOutcomes(lits, op, value) : undefined),
  };
}

function leafOutcomes(lits: string[], op: string, value: unknown): number | undefined {
  const fixed = lits.length === 1;
  const first = lits[0], last = lits[lits.length - 1];
  const bits = (t: boolean, f: boolean) => (t ? MAY_T : 0) | (f ? MAY_F : 0);
  if (op === "exists") return value === true ? MAY_T : MAY_F;
  const raw = Array.isArray(value) ? value : [value];
  if (raw.some((v) => typeof v === "string" && v.includes("${"))) return undefined;
  const normal = op === "suffix" || op === "contains"
    ? (v: string) => nfc(v)
    : (v: string) => uriOrNull(v) ?? nfc(v);
  const vs = raw.filter((v): v is string => typeof v === "string").map(normal);
  switch (op) {
    case "eq":
    case "in":
    case "ne":
    case "not_in": {
      const hit = vs.some((v) => globMatch(lits, v));
      // A fixed template is one URI; otherwise it describes more than any list names.
      const t = hit, f = !fixed || !hit;
      return op === "eq" || op === "in" ? bits(t, f) : bits(f, t);
    }
    case "prefix":
      if (fixed) {
        return bits(
          vs.some((x) => first.startsWith(x)),
          !vs.some((x) => first.startsWith(x)),
        );
      }
      return bits(
        vs.some((x) => first.startsWith(x) || x.startsWith(first)),
        !vs.some((x) => first.startsWith(x)),
      );
    case "suffix":
      if (fixed) return bits(vs.some((x) => first.endsWith(x)), !vs.some((x) => first.endsWith(x)));
      return bits(
        vs.some((x) => last.endsWith(x) || x.endsWith(last)),
        !vs.some((x) => last.endsWith(x)),
      );
    case "contains": {
      if (raw.length !== 1 || typeof raw[0] !== "string") return undefined;
      const x = vs[0];
      const always = lits.some((l) => l.includes(x));
      return bits(fixed ? always : true, !always);
    }
    default:
      return undefined;
  }
}

/** Does `s` read `lits[0] * lits[1] * … * lits[n]` (each `*` any text, maybe none)? */
function globMatch(lits: string[], s: string): boolean {
  if (lits.length === 1) return s === lits[0];
  const first = lits[0], last = lits[lits.length - 1];
  if (!s.startsWith(first)) return false;
  const end = s.length - last.length;
  if (end < first.length || !s.endsWith(last)) return false;
  let pos = first.length;
  for (let i = 1; i < lits.length - 1; i++) {
    const at = s.indexOf(lits[i], pos);
    if (at < 0 || at + lits[i].length > end) return false;
    pos = at + lits[i].length;
  }
  return true;
}

/** The normalized URI, or null when it cannot be normalized (the engine's `uri` kind). */
export function uriOrNull(input: string): string | null {
  const r = normalizeUri(input);
  return r.ok ? r.uri : null;
}
