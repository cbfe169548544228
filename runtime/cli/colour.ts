/**
 * Terminal styling for the CLIs, in one place: ANSI colour only when the stream written is a
 * terminal and `NO_COLOR` is unset (Deno reads it: `Deno.noColor`, no env permission needed), so
 * output redirected to a file or a pipe is plain text. One way to cut a long name for display,
 * with an ellipsis, so a cut-off name never reads as a whole one. And one way to show text an agent
 * controls (names, resources, arguments) so that it cannot write escapes of its own.
 */

/** The stream a line goes to. */
export type Stream = "stdout" | "stderr";

/** May `stream` carry ANSI colour? A terminal, and `NO_COLOR` unset. */
export function colourOn(stream: Stream): boolean {
  if (Deno.noColor) return false;
  try {
    return (stream === "stdout" ? Deno.stdout : Deno.stderr).isTerminal();
  } catch {
    return false;
  }
}

function style(open: string, close: string) {
  return (s: string, stream: Stream = "stdout"): string =>
    colourOn(stream) ? `\x1b[${open}m${s}\x1b[${close}m` : s;
}

/** Bold `s` when the stream may carry colour (stdout by default). */
export const bold: (s: string, stream?: Stream) => string = style("1", "22");
/** Dim `s` when the stream may carry colour (stdout by default). */
export const dim: (s: string, stream?: Stream) => string = style("2", "22");

/**
 * `s` cut to at most `max` characters (code points, so a surrogate pair is never split), the last
 * one an ellipsis when anything was cut.
 */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  const chars = Array.from(s);
  return chars.length <= max ? s : `${chars.slice(0, Math.max(0, max - 1)).join("")}…`;
}

/**
 * Terminal-safe text: control characters (ANSI escapes, carriage returns) and invisible or
 * direction-changing characters are shown as `\u{…}`, so an agent cannot make the text a person
 * reads differ from what happened (colour a line, hide a command, reorder it, overwrite a line).
 */
export function visible(s: string): string {
  return s.replace(
    /[\p{Cc}\p{Cf}\u2028\u2029]/gu,
    (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
}
