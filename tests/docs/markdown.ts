/**
 * Just enough Markdown for README's tests: fenced blocks with their info string, inline code
 * spans (CommonMark's backtick-run rule, per paragraph), links and heading anchors.
 */

/** A fenced code block: its info string's language and `title=…`, its text, its first line. */
export interface Fence {
  lang: string;
  title: string | null;
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** Every fenced block (``` or ~~~) of `text`. */
export function fences(text: string): Fence[] {
  const out: Fence[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*(`{3,}|~{3,})(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, mark, info] = open;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].trimStart().startsWith(mark)) body.push(lines[j++]);
    const title = /\btitle=(?:"([^"]*)"|(\S+))/.exec(info);
    out.push({
      lang: info.trim().split(/\s+/)[0] ?? "",
      title: title ? title[1] ?? title[2] : null,
      body: body.join("\n") + "\n",
      line: i + 1,
    });
    i = j;
  }
  return out;
}

/** The text outside fenced blocks, as paragraphs (blank lines, headings, tables and list items split). */
export function paragraphs(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const lines = text.split("\n");
  let fence: string | null = null;
  let cur: { line: number; lines: string[] } | null = null;
  const flush = () => {
    if (cur) out.push({ line: cur.line, text: cur.lines.join("\n") });
    cur = null;
  };
  lines.forEach((l, i) => {
    const mark = /^\s*(`{3,}|~{3,})/.exec(l)?.[1];
    if (fence !== null) {
      if (mark && mark[0] === fence[0] && mark.length >= fence.length) fence = null;
      return;
    }
    if (mark) {
      flush();
      fence = mark;
      return;
    }
    if (l.trim() === "" || l.startsWith("#") || l.trimStart().startsWith("|")) return flush();
    if (/^\s*([-*]|\d+\.) /.test(l)) flush();
    if (cur) cur.lines.push(l);
    else cur = { line: i + 1, lines: [l] };
  });
  flush();
  return out;
}

/** Inline code spans of one paragraph: [start, end) offsets, backticks included. */
export function codeSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === "\\" && text[i + 1] === "`") {
      i += 2; // an escaped backtick outside a span is a literal
      continue;
    }
    if (text[i] !== "`") {
      i++;
      continue;
    }
    let j = i;
    while (text[j] === "`") j++;
    const run = j - i;
    let k = j;
    let close = -1;
    while (k < text.length) {
      if (text[k] !== "`") {
        k++;
        continue;
      }
      let m = k;
      while (text[m] === "`") m++;
      if (m - k === run) {
        close = m;
        break;
      }
      k = m;
    }
    if (close < 0) {
      i = j; // an unmatched run is literal text
      continue;
    }
    spans.push([i, close]);
    i = close;
  }
  return spans;
}

/** Inline code spans that continue onto the next line: where they start and what they hold. */
export function brokenSpans(text: string): { line: number; span: string }[] {
  const out: { line: number; span: string }[] = [];
  for (const p of paragraphs(text)) {
    for (const [a, b] of codeSpans(p.text)) {
      const span = p.text.slice(a, b);
      if (span.includes("\n")) {
        out.push({ line: p.line + p.text.slice(0, a).split("\n").length - 1, span });
      }
    }
  }
  return out;
}

/** GitHub's anchor for a heading. */
export function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** The headings (level and text) outside fenced blocks. */
export function headings(text: string): { level: number; text: string; line: number }[] {
  const out: { level: number; text: string; line: number }[] = [];
  let inFence = false;
  text.split("\n").forEach((l, i) => {
    if (/^\s*(`{3,}|~{3,})/.test(l)) inFence = !inFence;
    const h = inFence ? null : /^(#{1,6}) (.*)$/.exec(l);
    if (h) out.push({ level: h[1].length, text: h[2].trim(), line: i + 1 });
  });
  return out;
}

/** The table rows outside fenced blocks. */
function tableRows(text: string): string[] {
  let inFence = false;
  return text.split("\n").filter((l) => {
    if (/^\s*(`{3,}|~{3,})/.test(l)) inFence = !inFence;
    return !inFence && l.trimStart().startsWith("|");
  });
}

/** Link targets `[text](target)` outside code (paragraphs and table rows; spans removed first). */
export function linkTargets(text: string): string[] {
  const out: string[] = [];
  for (const p of [...paragraphs(text).map((p) => p.text), ...tableRows(text)]) {
    let plain = "";
    let at = 0;
    for (const [a, b] of codeSpans(p)) {
      plain += p.slice(at, a);
      at = b;
    }
    plain += p.slice(at);
    for (const m of plain.matchAll(/\]\(([^)\s]+)\)/g)) out.push(m[1]);
  }
  return out;
}
