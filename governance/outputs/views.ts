/**
 * Other readings of a string that a detector also sees: the runs of base64/hex it contains,
 * decoded, and a "compact" form (NFKC, Latin look-alikes folded, zero-width characters, literal
 * `\n`-style escapes and whitespace removed, NULs too: UTF-16 text read byte for byte) and a
 * URL-decoded form. Pure and linear: every JavaScript regex here has no nested quantifier.
 * @module
 */

/** A run of base64 or hex in a string and the printable text it decodes to. */
export interface EncodedRun {
  start: number;
  end: number;
  decoded: string;
}

const HEX = /^[0-9a-fA-F]+$/;

function printable(s: string): boolean {
  if (s.length === 0) return false;
  let ok = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x20 && c < 0x7f) || c === 9 || c === 10 || c === 13) ok++;
  }
  return ok / s.length >= 0.9;
}

function decodeRun(run: string): string | null {
  try {
    if (HEX.test(run) && run.length % 2 === 0) {
      let out = "";
      for (let i = 0; i < run.length; i += 2) {
        out += String.fromCharCode(parseInt(run.slice(i, i + 2), 16));
      }
      return out;
    }
    let b = run.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
    if (b.length % 4 === 1) b = b.slice(0, -1);
    return atob(b + "=".repeat((4 - (b.length % 4)) % 4));
  } catch {
    return null;
  }
}

/** Characters of base64 (standard and URL-safe) and hex, by char code. */
const B64 = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-") {
  B64[c.charCodeAt(0)] = 1;
}
/** Shortest run decoded (18 bytes of base64, 12 of hex: shorter secrets have no format). */
const MIN_RUN = 24;

/** The base64/hex runs of `text` (24+ characters) that decode to mostly printable text. */
export function encodedRuns(text: string): EncodedRun[] {
  const out: EncodedRun[] = [];
  const n = text.length;
  for (let i = 0; i < n;) {
    const c = text.charCodeAt(i);
    if (c >= 128 || B64[c] === 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n) {
      const d = text.charCodeAt(j);
      if (d >= 128 || B64[d] === 0) break;
      j++;
    }
    let end = j;
    while (end < n && end < j + 2 && text.charCodeAt(end) === 61) end++; // "=" padding
    if (j - i >= MIN_RUN) {
      const decoded = decodeRun(text.slice(i, end));
      if (decoded !== null && printable(decoded)) out.push({ start: i, end, decoded });
    }
    i = end;
  }
  return out;
}

/** Latin look-alikes (Cyrillic, Greek) that NFKC does not fold. */
const CONFUSABLE: Record<string, string> = {
  "А": "A",
  "В": "B",
  "Е": "E",
  "К": "K",
  "М": "M",
  "Н": "H",
  "О": "O",
  "Р": "P",
  "С": "C",
  "Т": "T",
  "Х": "X",
  "У": "Y",
  "І": "I",
  "Ј": "J",
  "Ѕ": "S",
  "а": "a",
  "е": "e",
  "о": "o",
  "р": "p",
  "с": "c",
  "у": "y",
  "х": "x",
  "і": "i",
  "ј": "j",
  "ѕ": "s",
  "ԁ": "d",
  "һ": "h",
  "Α": "A",
  "Β": "B",
  "Ε": "E",
  "Ζ": "Z",
  "Η": "H",
  "Ι": "I",
  "Κ": "K",
  "Μ": "M",
  "Ν": "N",
  "Ο": "O",
  "Ρ": "P",
  "Τ": "T",
  "Υ": "Y",
  "Χ": "X",
  "ο": "o",
  "ν": "v",
  "κ": "k",
};
const CONFUSABLES = new RegExp(`[${Object.keys(CONFUSABLE).join("")}]`, "g");
const NULS = /\0/g;
const INVISIBLE = /[\0\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/g;
const BREAKS = /(?:[\r\n]|\\[nrt])+/;
const NON_ASCII = /\P{ASCII}/u;
const NEEDS_COMPACT = /[^\x20-\x7e]|\\[nrt]/;

/** A reading made of pieces joined end to end: where each piece starts in it. */
export interface JoinedView {
  text: string;
  starts: number[];
}

/**
 * The compact reading of `text`: NFKC, look-alikes folded, invisible characters dropped, and
 * its lines (split at line breaks or literal `\n`/`\r`/`\t`, with their indentation) joined
 * end to end. Null when that is the text itself.
 */
export function compactView(text: string): JoinedView | null {
  if (!NEEDS_COMPACT.test(text)) return null;
  // NULs go too: ASCII text spelled as UTF-16 or UTF-32 has one between its letters.
  const folded = !NON_ASCII.test(text)
    ? (text.includes("\0") ? text.replace(NULS, "") : text)
    : text.normalize("NFKC").replace(CONFUSABLES, (ch) => CONFUSABLE[ch]).replace(INVISIBLE, "");
  const pieces = folded.split(BREAKS);
  const starts: number[] = [];
  let joined = "";
  pieces.forEach((p, i) => {
    // The indentation around a break goes with it (loops: a regex here could be quadratic).
    let a = 0, b = p.length;
    if (i > 0) { while (a < b && (p[a] === " " || p[a] === "\t")) a++; }
    if (i < pieces.length - 1) { while (b > a && (p[b - 1] === " " || p[b - 1] === "\t")) b--; }
    starts.push(joined.length);
    joined += p.slice(a, b);
  });
  return joined === text ? null : { text: joined, starts };
}

const PERCENT = /%[0-9A-Fa-f]{2}/;

/** The URL-decoded reading of `text` (`+` as space), or null when it has no escape. */
export function urlView(text: string): string | null {
  if (!PERCENT.test(text)) return null;
  const s = text.replace(/\+/g, " ");
  try {
    return decodeURIComponent(s);
  } catch {
    // Malformed escapes: decode the well-formed ones one at a time.
    return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (m) => {
      try {
        return decodeURIComponent(m);
      } catch {
        return m;
      }
    });
  }
}
