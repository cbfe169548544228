/**
 * Linear-time pattern matching. Policy regexes run on attacker-controlled input, so they
 * are compiled with RE2JS (RE2 semantics: no backreferences or lookaround, matching time
 * linear in the input) instead of the backtracking `RegExp`.
 */
import { RE2JS } from "re2js";

/** Longest pattern accepted in a policy. */
export const MAX_PATTERN_LENGTH = 2048;
/** Largest compiled program accepted (bounds memory and per-character work). */
export const MAX_PROGRAM_SIZE = 20000;

/** A compiled, linear-time matcher. */
export interface SafeRegex {
  readonly source: string;
  test(input: string): boolean;
}

/** Compile an RE2-syntax pattern (unanchored search), or return an error message. */
export function compileRegex(pattern: string, caseInsensitive = false): SafeRegex | string {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return `invalid regex: longer than ${MAX_PATTERN_LENGTH} characters`;
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return `invalid regex ${JSON.stringify(pattern)}: ${msg}`;
  }
  if (re.programSize() > MAX_PROGRAM_SIZE) {
    return `invalid regex ${
      JSON.stringify(pattern)
    }: too complex (program size ${re.programSize()} > ${MAX_PROGRAM_SIZE})`;
  }
  return { source: pattern, test: (input) => re.test(input) };
}

const REGEX_META = /[\\^$.|?*+()[\]{}]/g;

/**
 * Translate a glob to an anchored RE2 pattern. `*` matches within one `/`-separated segment,
 * `**` matches across segments, `?` one non-`/` character, `[...]`/`[!...]` a class and
 * `{a,b}` alternatives. Returns an error message for malformed globs.
 */
export function globToRegex(glob: string): string | { error: string } {
  let out = "";
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        const atSegmentStart = i === 0 || glob[i - 1] === "/";
        while (glob[i + 1] === "*") i++;
        if (atSegmentStart && glob[i + 1] === "/") {
          out += "(?:.*/)?";
          i++;
        } else out += ".*";
      } else out += "[^/]*";
    } else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) return { error: `invalid glob ${JSON.stringify(glob)}: unclosed "["` };
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      out += `[${negate ? "^" : ""}${body.replace(/[\\\]^[]/g, "\\$&")}]`;
      i = end;
    } else if (c === "{") {
      depth++;
      out += "(?:";
    } else if (c === "}" && depth > 0) {
      depth--;
      out += ")";
    } else if (c === "," && depth > 0) out += "|";
    else if (c === "\\" && i + 1 < glob.length) {
      i++;
      out += glob[i].replace(REGEX_META, "\\$&");
    } else out += c.replace(REGEX_META, "\\$&");
  }
  if (depth !== 0) return { error: `invalid glob ${JSON.stringify(glob)}: unclosed "{"` };
  return `(?s)^${out}$`;
}
