/**
 * The data-loss scan of one output: every string in it (object keys as well as values, at any
 * depth) is searched by each detector in its raw form, in the base64/hex runs it contains
 * decoded, and — after redaction — in its compact and URL-decoded readings (views.ts); the
 * strings are also searched joined end to end, so a secret split across values is found.
 * A raw match is redacted where it is; a match only another reading shows redacts the whole
 * string; a match across values redacts every string it spans. Linear in the output's size
 * (RE2), which is capped: above the cap the output is denied unscanned.
 * @module
 */
import { RE2JS } from "re2js";
import { sha256Hex } from "../audit/sha256.ts";
import { compactView, encodedRuns, urlView } from "./views.ts";

/** One compiled detector of one rule. */
export interface Detector {
  rule: string;
  /** The built-in's name, or "pattern" for the rule's own. */
  name: string;
  effect: "deny" | "redact";
  re: RE2JS;
  /** The pattern without its leading word boundaries (for readings joined from pieces). */
  loose: RE2JS;
  /** Whether `loose` differs (a loose match then needs a boundary or a piece start). */
  bounded: boolean;
  needles?: readonly string[];
  ci?: boolean;
  /** With needles: every match starts at one and is at most this long (else the whole text). */
  window?: number;
}

/** Compile a detector (the pattern was validated by the policy schema). */
export function detector(
  d: Omit<Detector, "re" | "loose" | "bounded">,
  pattern: string,
  flags = 0,
): Detector {
  const loose = pattern.replace(/(^|\|)\\b/g, "$1");
  return {
    ...d,
    re: RE2JS.compile(pattern, flags),
    loose: RE2JS.compile(loose, flags),
    bounded: loose !== pattern,
  };
}

/** One match, as audited: the rule, the detector, where, and the hash of what matched. */
export interface OutputFinding {
  rule: string;
  detector: string;
  effect: "deny" | "redact";
  /** `$.a.b[0]`; a key that matched is shown by its position (`{#2}`), never by its text. */
  path: string;
  /** Which reading showed it: raw, encoded (base64/hex), compact, url, or split (across values). */
  view: string;
  sha256: string;
}

/** Most matches recorded per output (the rest still redact, uncounted). */
const MAX_FINDINGS = 100;
/** Deepest nesting scanned; deeper outputs are denied. */
export const MAX_DEPTH = 128;

interface Hit {
  d: Detector;
  start: number;
  end: number;
}

const ESCAPE = /[.*+?^${}()|[\]\\]/g;

/** One JavaScript search for every needle of a detector set: most text has none. */
interface Gate {
  cs: RegExp | null;
  ci: RegExp | null;
  /** Whether some detector has no needles (it always runs). */
  always: boolean;
}
const GATES = new WeakMap<readonly Detector[], Gate>();

function gateOf(detectors: readonly Detector[]): Gate {
  let g = GATES.get(detectors);
  if (!g) {
    // Literal alternations only: linear, no backtracking.
    const alt = (ds: Detector[]) =>
      ds.flatMap((d) => d.needles!).map((n) => n.replace(ESCAPE, "\\$&"));
    const cs = alt(detectors.filter((d) => d.needles && !d.ci));
    const ci = alt(detectors.filter((d) => d.needles && d.ci));
    g = {
      cs: cs.length ? new RegExp(cs.join("|")) : null,
      ci: ci.length ? new RegExp(ci.join("|"), "i") : null,
      always: detectors.some((d) => !d.needles),
    };
    GATES.set(detectors, g);
  }
  return g;
}

const WORD = /[A-Za-z0-9_]/;

/**
 * Every non-empty match of every detector in `text`. With `starts` (a reading joined from
 * pieces), the loose patterns run and a match of a bounded one counts only where a word
 * boundary or a piece starts: a token at the start of a line is found once the line breaks
 * inside it are gone, and `risk-assessment` is still no `sk-` key.
 */
export function hitsIn(detectors: readonly Detector[], text: string, starts?: number[]): Hit[] {
  const out: Hit[] = [];
  const gate = gateOf(detectors);
  const cs = gate.cs !== null && gate.cs.test(text);
  const ci = gate.ci !== null && gate.ci.test(text);
  if (!cs && !ci && !gate.always) return out;
  let lower: string | null = null;
  let pieces: Set<number> | null = null;
  for (const d of detectors) {
    let at: number[] | null = null;
    if (d.needles) {
      if (!(d.ci ? ci : cs)) continue;
      if (d.ci) lower ??= text.toLowerCase();
      const hay = d.ci ? lower! : text;
      at = needleSites(d.needles, hay);
      if (at?.length === 0) continue;
      if (hay.length !== text.length) at = null; // lower-casing moved offsets: scan it all
    }
    if (starts) pieces ??= new Set(starts);
    const loose = pieces !== null && d.bounded;
    const re = loose ? d.loose : d.re;
    const take = (start: number, end: number) => {
      const ok = !loose || start === 0 || pieces!.has(start) || !WORD.test(text[start - 1]);
      if (ok && end > start) out.push({ d, start, end });
      return ok && end > start ? end : start + 1;
    };
    if (at === null || d.window === undefined) {
      const m = re.matcher(text);
      let from = 0;
      while (from <= text.length && m.find(from)) {
        from = take(m.start(), m.end());
        if (out.length > 10_000) return out;
      }
      continue;
    }
    // Every match begins at a needle: RE2 runs on a window at each needle, not on the text.
    let done = 0;
    for (const site of at) {
      if (site < done) continue;
      const base = Math.max(0, site - 1);
      const m = re.matcher(text.slice(base, Math.min(text.length, site + d.window)));
      let from = 0;
      while (m.find(from)) {
        const next = take(base + m.start(), base + m.end());
        done = Math.max(done, next);
        from = next - base;
        if (out.length > 10_000) return out;
      }
      done = Math.max(done, site + 1);
    }
  }
  return out;
}

/** Where any of `needles` occurs in `hay`, in order; null past 10 000 (then scan it all). */
function needleSites(needles: readonly string[], hay: string): number[] | null {
  const out: number[] = [];
  for (const n of needles) {
    for (let i = hay.indexOf(n); i >= 0; i = hay.indexOf(n, i + 1)) {
      if (out.push(i) > 10_000) return null;
    }
  }
  return out.sort((a, b) => a - b);
}

/** A step of a path, linked to its parent (a path is built only for a finding). */
interface Step {
  up: Step | null;
  /** An array index, or an object key with its key leaf's index and its position. */
  part: number | { key: string; leaf: number; pos: number };
}

interface Leaf {
  text: string;
  at: Step | null;
  key: boolean;
}

type Walk = { leaves: Leaf[] } | { error: string };

function collect(value: unknown, maxChars: number): Walk {
  const leaves: Leaf[] = [];
  let chars = 0;
  const visit = (v: unknown, at: Step | null, depth: number): string | null => {
    if (depth > MAX_DEPTH) return `output nested deeper than ${MAX_DEPTH} levels`;
    // Counted as JSON text (quotes, separators): many empty strings are not free either.
    chars++;
    if (typeof v === "string") {
      chars += v.length + 2;
      if (chars > maxChars) return `output larger than ${maxChars} characters`;
      leaves.push({ text: v, at, key: false });
      return null;
    }
    if (chars > maxChars) return `output larger than ${maxChars} characters`;
    if (v === null || typeof v !== "object") return null;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (x === null || (typeof x !== "string" && typeof x !== "object")) {
          if (++chars > maxChars) return `output larger than ${maxChars} characters`;
          continue;
        }
        const e = visit(x, { up: at, part: i }, depth + 1);
        if (e) return e;
      }
      return null;
    }
    let pos = 0;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      chars += k.length + 3;
      if (chars > maxChars) return `output larger than ${maxChars} characters`;
      const leaf = leaves.length;
      leaves.push({ text: k, at, key: true });
      if (x === null || (typeof x !== "string" && typeof x !== "object")) {
        pos++;
        if (++chars > maxChars) return `output larger than ${maxChars} characters`;
        continue;
      }
      const e = visit(x, { up: at, part: { key: k, leaf, pos: pos++ } }, depth + 1);
      if (e) return e;
    }
    return null;
  };
  const e = visit(value, null, 0);
  return e ? { error: e } : { leaves };
}

const PLAIN_KEY = /^[A-Za-z0-9_$-]{1,40}$/;

function renderPath(leaf: Leaf, hitLeaves: ReadonlySet<number>): string {
  let out = "";
  for (let s = leaf.at; s !== null; s = s.up) {
    const p = s.part;
    if (typeof p === "number") out = `[${p}]${out}`;
    else if (!hitLeaves.has(p.leaf) && PLAIN_KEY.test(p.key)) out = `.${p.key}${out}`;
    else out = `.{#${p.pos}}${out}`;
  }
  out = `$${out}`;
  return leaf.key ? `${out}{key}` : out;
}

/** Replace ranges of `text` (merged when they overlap) with each range's marker. */
function redactRanges(text: string, ranges: { start: number; end: number; rule: string }[]) {
  ranges.sort((a, b) => a.start - b.start || b.end - a.end);
  let out = "";
  let at = 0;
  for (const r of ranges) {
    if (r.end <= at) continue;
    out += text.slice(at, Math.max(at, r.start)) + marker(r.rule);
    at = r.end;
  }
  return out + text.slice(at);
}

/** What a redacted secret is replaced with. */
export function marker(rule: string): string {
  return `[redacted:${rule}]`;
}

/** The scan's result: the findings and, when nothing is denied, the redacted strings. */
export interface ScanResult {
  error?: string;
  findings: OutputFinding[];
  denied: OutputFinding | null;
  /** Leaf index -> replacement text. */
  replace: Map<number, string>;
}

/** Scan the strings of `value` with `detectors` (see the module comment). */
export function scanValue(
  detectors: readonly Detector[],
  value: unknown,
  maxChars: number,
): ScanResult {
  const walk = collect(value, maxChars);
  const replace = new Map<number, string>();
  if ("error" in walk) return { error: walk.error, findings: [], denied: null, replace };
  const { leaves } = walk;
  const pending: { leaf: number; d: Detector; view: string; secret: string }[] = [];
  const rawRanges = new Map<number, { start: number; end: number }[]>();
  const note = (leaf: number, d: Detector, view: string, secret: string) => {
    if (pending.length < MAX_FINDINGS) pending.push({ leaf, d, view, secret });
  };
  leaves.forEach((leaf, i) => {
    const text = leaf.text;
    const ranges: { start: number; end: number; rule: string }[] = [];
    for (const h of hitsIn(detectors, text)) {
      // One finding per span (sk-ant-… is also an sk-… key; the first detector names it).
      if (ranges.some((r) => h.start < r.end && r.start < h.end)) continue;
      note(i, h.d, "raw", text.slice(h.start, h.end));
      ranges.push({ start: h.start, end: h.end, rule: h.d.rule });
    }
    if (ranges.length) rawRanges.set(i, ranges.slice());
    for (const run of encodedRuns(text)) {
      const h = hitsIn(detectors, run.decoded)[0];
      if (!h) continue;
      note(i, h.d, "encoded", run.decoded.slice(h.start, h.end));
      ranges.push({ start: run.start, end: run.end, rule: h.d.rule });
    }
    let out = ranges.length ? redactRanges(text, ranges) : text;
    // What survives redaction must not show a secret in another reading either.
    const compact = compactView(out);
    const url = compact === null ? urlView(out) : null;
    const read = compact ?? (url === null ? null : { text: url, starts: undefined });
    const h = read === null ? undefined : hitsIn(detectors, read.text, read.starts)[0];
    if (h && read) {
      note(i, h.d, compact ? "compact" : "url", read.text.slice(h.start, h.end));
      out = marker(h.d.rule);
    } else if (compact !== null) {
      const u = urlView(out);
      const hu = u === null ? undefined : hitsIn(detectors, u)[0];
      if (hu && u !== null) {
        note(i, hu.d, "url", u.slice(hu.start, hu.end));
        out = marker(hu.d.rule);
      }
    }
    if (out !== text) replace.set(i, out);
  });
  // Split across values: the strings joined end to end (only matches spanning two or more).
  if (leaves.length > 1) {
    const starts: number[] = [];
    let joined = "";
    for (const l of leaves) {
      starts.push(joined.length);
      joined += l.text;
    }
    const leafAt = (pos: number) => {
      let lo = 0, hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= pos) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    for (const h of hitsIn(detectors, joined, starts)) {
      const a = leafAt(h.start), b = leafAt(h.end - 1);
      if (a === b) continue;
      const at = h.start - starts[a];
      if (rawRanges.get(a)?.some((r) => r.start <= at && at < r.end)) continue;
      note(a, h.d, "split", joined.slice(h.start, h.end));
      for (let i = a; i <= b; i++) replace.set(i, marker(h.d.rule));
    }
  }
  const hitLeaves = new Set(pending.map((p) => p.leaf));
  const findings = pending.map((p): OutputFinding => ({
    rule: p.d.rule,
    detector: p.d.name,
    effect: p.d.effect,
    path: renderPath(leaves[p.leaf], hitLeaves),
    view: p.view,
    sha256: sha256Hex(p.secret),
  }));
  const denied = findings.find((f) => f.effect === "deny") ?? null;
  return { findings, denied, replace };
}

/** `value` with the replaced strings (leaf indices as `scanValue` numbered them). */
export function rebuild(value: unknown, replace: ReadonlyMap<number, string>): unknown {
  if (replace.size === 0) return value;
  let n = 0;
  const visit = (v: unknown): unknown => {
    if (typeof v === "string") {
      const r = replace.get(n++);
      return r ?? v;
    }
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) return v.map(visit);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const r = replace.get(n++);
      let key = r ?? k;
      while (r !== undefined && Object.hasOwn(out, key)) key += "'";
      Object.defineProperty(out, key, {
        value: visit(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return visit(value);
}
