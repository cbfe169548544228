/** IP addresses in every legal spelling, and CIDR ranges, for the `cidr` operator. */

/** An address as 128 bits in four 32-bit words; IPv4 lives in the IPv4-mapped range. */
export interface IpAddress {
  readonly v: 4 | 6;
  readonly words: readonly [number, number, number, number];
}

/** A parsed CIDR range. */
export interface CidrRange {
  readonly text: string;
  readonly base: IpAddress;
  /** Prefix length over 128 bits (IPv4 prefixes are shifted by 96). */
  readonly bits: number;
}

const MAPPED = 0xffff;

function fromV4(n: number): IpAddress {
  return { v: 4, words: [0, 0, MAPPED, n >>> 0] };
}

function parseDottedQuad(s: string): number | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const x = Number(p);
    if (x > 255) return null;
    n = n * 256 + x;
  }
  return n;
}

function parseCanonicalV6(s: string): IpAddress | null {
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 && halves[1] !== "" ? halves[1].split(":") : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const groups = [...head, ...Array(fill).fill("0"), ...tail];
  const g: number[] = [];
  for (const x of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(x)) return null;
    g.push(parseInt(x, 16));
  }
  const w = (i: number) => ((g[i] << 16) | g[i + 1]) >>> 0;
  const words: [number, number, number, number] = [w(0), w(2), w(4), w(6)];
  const v = words[0] === 0 && words[1] === 0 && words[2] === MAPPED ? 4 : 6;
  return { v, words };
}

/**
 * Parse an IP address the way a WHATWG URL host parser does, so `2130706433`, `0x7f.1`,
 * `0177.0.0.1` and `127.1` are all 127.0.0.1, and `::ffff:7f00:1` is that address too.
 * Returns null for anything that is not an IP literal (for example a DNS name).
 */
export function parseIp(input: string): IpAddress | null {
  if (input.length === 0 || input.length > 64) return null;
  let s = input;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  if (s.includes(":")) {
    const u = URL.parse(`http://[${s}]/`);
    return u ? parseCanonicalV6(u.hostname.slice(1, -1)) : null;
  }
  const direct = parseDottedQuad(s);
  if (direct !== null) return fromV4(direct);
  const u = URL.parse(`http://${s}/`);
  if (!u) return null;
  const n = parseDottedQuad(u.hostname);
  return n === null ? null : fromV4(n);
}

/** Parse `addr/len` (or a bare address). Returns an error message on failure. */
export function parseCidr(text: string): CidrRange | string {
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const base = parseIp(addrText);
  if (!base) return `invalid CIDR "${text}": "${addrText}" is not an IP address`;
  const max = base.v === 4 && !addrText.includes(":") ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
      return `invalid CIDR "${text}": prefix length must be 0-${max}`;
    }
    len = Number(lenText);
  }
  return { text, base, bits: max === 32 ? len + 96 : len };
}

/** True when `ip` lies inside `range`. */
export function inCidr(ip: IpAddress, range: CidrRange): boolean {
  let bits = range.bits;
  for (let i = 0; i < 4 && bits > 0; i++) {
    const take = bits >= 32 ? 32 : bits;
    const mask = take === 32 ? 0xffffffff : (~(0xffffffff >>> take)) >>> 0;
    if (((ip.words[i] & mask) >>> 0) !== ((range.base.words[i] & mask) >>> 0)) return false;
    bits -= take;
  }
  return true;
}
