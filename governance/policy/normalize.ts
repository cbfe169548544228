/**
 * Normalization applied before matching. Every rule here is part of the policy contract
 * and is documented in README ("Normalization").
 */
import { parseIp } from "./ip.ts";

/** Longest string the engine inspects; longer values make string conditions unknown. */
export const MAX_STRING_LENGTH = 8192;

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  http: 80,
  https: 443,
  ws: 80,
  wss: 443,
  ftp: 21,
};

// deno-lint-ignore no-control-regex
const CANONICAL_PATH = /^(?:\/(?!\.\.?(?:\/|$))[\x01-\x2e\x30-\x7f]+)+$|^\/$/;

// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/** Unicode NFC, skipping the work for pure ASCII. */
export function nfc(s: string): string {
  // Short strings (hosts, names, methods: every decision reads a few) by a loop, which costs
  // less than a regex call; the same test as ASCII, code unit by code unit.
  if (s.length <= 64) {
    for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return s.normalize("NFC");
    return s;
  }
  return ASCII.test(s) ? s : s.normalize("NFC");
}

/**
 * Make a file path absolute and canonical: `file:` URLs become paths, relative paths are
 * resolved against `base`, `.` and `..` are resolved (never above `/`), repeated and trailing
 * slashes are removed, and the result is NFC. Returns null when the path cannot be
 * normalized (NUL byte, relative without an absolute base, bad `file:` URL, too long).
 */
export function normalizePath(input: string, base?: string): string | null {
  if (input.length === 0 || input.length > MAX_STRING_LENGTH) return null;
  // Fast path: already canonical (absolute ASCII, no empty, "." or ".." segments, no NUL).
  if (CANONICAL_PATH.test(input)) return input;
  if (input.includes("\0")) return null;
  let p = input;
  if (p.startsWith("file:")) {
    const u = URL.parse(p);
    if (!u || u.protocol !== "file:" || (u.hostname !== "" && u.hostname !== "localhost")) {
      return null;
    }
    try {
      p = decodeURIComponent(u.pathname);
    } catch {
      return null;
    }
    if (p.includes("\0")) return null;
  }
  if (!p.startsWith("/")) {
    if (base === undefined || !base.startsWith("/")) return null;
    p = `${base}/${p}`;
  }
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return nfc("/" + out.join("/"));
}

/** True when normalized `path` equals `root` or lies beneath it. */
export function isWithin(path: string, root: string): boolean {
  if (root === "/") return true;
  return path === root || (path.startsWith(root) && path.charCodeAt(root.length) === 47);
}

/** Facets derived from a URL resource. */
export interface UrlFacets {
  /** WHATWG serialization of the whole URL. */
  href: string;
  scheme: string;
  /** Lowercase ASCII (punycode) host, IPv6 without brackets, trailing dots removed. */
  host: string;
  /** Explicit port, or the scheme's default; undefined when neither exists. */
  port: number | undefined;
  path: string;
  query: string;
}

function cleanHost(hostname: string): string {
  let h = hostname;
  if (h.startsWith("[") && h.endsWith("]")) return h.slice(1, -1);
  while (h.endsWith(".")) h = h.slice(0, -1);
  return h;
}

/** Parse a URL with the WHATWG parser and derive its facets; null when it does not parse. */
export function urlFacets(input: string): UrlFacets | null {
  if (input.length > MAX_STRING_LENGTH) return null;
  const u = URL.parse(input);
  if (!u) return null;
  const scheme = u.protocol.slice(0, -1);
  const port = u.port !== "" ? Number(u.port) : DEFAULT_PORTS[scheme];
  return {
    href: u.href,
    scheme,
    host: cleanHost(u.hostname),
    port,
    path: u.pathname,
    query: u.search.startsWith("?") ? u.search.slice(1) : u.search,
  };
}

/**
 * Parse `host:port` (as in `net.connect`), normalizing the host like a URL host.
 * Returns null when it does not parse.
 */
export function hostPortFacets(input: string): UrlFacets | null {
  if (input.length > MAX_STRING_LENGTH || /[/?#@\s\\]/.test(input)) return null;
  const u = URL.parse(`http://${input}/`);
  if (!u) return null;
  const host = cleanHost(u.hostname);
  let port: number | undefined;
  if (u.port !== "") port = Number(u.port);
  else if (/:0*80$/.test(input)) port = 80;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    href: port === undefined ? shown : `${shown}:${port}`,
    scheme: "",
    host,
    port,
    path: "",
    query: "",
  };
}

/**
 * Normalize a host name written in a policy so it compares equal to `url.host`:
 * lowercase, IDNA to punycode, brackets and trailing dots removed. Falls back to lowercase
 * for fragments that are not whole hosts (for example a `suffix` like `.github.com`).
 */
export function normalizeHost(value: string): string {
  const ip = value.includes(":") && !value.startsWith("[") ? `[${value}]` : value;
  const u = URL.parse(`http://${ip}/`);
  if (u && u.pathname === "/" && u.port === "") return cleanHost(u.hostname);
  const lead = value.startsWith(".") ? "." : "";
  const rest = lead ? value.slice(1) : value;
  const v = rest ? URL.parse(`http://${rest}/`) : null;
  if (lead && v && v.pathname === "/") return lead + cleanHost(v.hostname);
  return nfc(value).toLowerCase();
}

export { parseIp };
