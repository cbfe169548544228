/** Stream an agent's stdout/stderr line by line, minus Deno's broker banner. */

const BANNER = "Warning Permission broker is an experimental feature";

/** Copy `stream` to `write` line by line, dropping Deno's experimental-broker warning. */
export async function pipeLines(
  stream: ReadableStream<Uint8Array>,
  write: (line: string) => void,
): Promise<void> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += value;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line !== BANNER) write(line);
      }
    }
  } catch { /* stream ended abruptly (killed) */ }
  if (buf !== "" && buf !== BANNER) write(buf);
}
