/** Stream an agent's stdout/stderr line by line, minus Deno's broker banner. */

const BANNER = "Warning Permission broker is an experimental feature";
/** Longest line passed on (characters); the rest of a longer line is dropped and marked. */
export const MAX_LINE = 64 * 1024;

/**
 * Copy `stream` to `write` line by line, dropping Deno's experimental-broker warning. A line
 * longer than `max` is cut there (marked "…[truncated]") and the rest of it is skipped: an
 * agent printing without newlines cannot make the host buffer without bound.
 */
export async function pipeLines(
  stream: ReadableStream<Uint8Array>,
  write: (line: string) => void,
  max = MAX_LINE,
): Promise<void> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let skipping = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += value;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (skipping) skipping = false;
        else if (line !== BANNER) write(line.length > max ? cut(line, max) : line);
      }
      if (buf.length > max) {
        if (!skipping) write(cut(buf, max));
        skipping = true;
        buf = "";
      }
    }
  } catch { /* stream ended abruptly (killed) */ }
  if (buf !== "" && buf !== BANNER && !skipping) write(buf);
}

function cut(line: string, max: number): string {
  return `${line.slice(0, max)}…[truncated]`;
}
