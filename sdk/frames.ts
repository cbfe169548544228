/** Length-prefixed JSON frames (4-byte big-endian length, then UTF-8 JSON). */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Encode a value as one frame. */
export function encodeFrame(value: unknown): Uint8Array {
  const body = encoder.encode(JSON.stringify(value));
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** What a frame reader produces: a parsed value, a malformed frame, or an oversized one. */
export type FrameEvent =
  | { kind: "frame"; value: unknown }
  | { kind: "malformed"; error: string }
  | { kind: "oversized"; size: number };

/**
 * Incremental frame decoder. Feed it chunks; it yields complete frames. An oversized length
 * ends the stream (the framing cannot be trusted after it).
 */
export class FrameDecoder {
  #buf = new Uint8Array(0);
  #dead = false;
  constructor(readonly maxBytes: number) {}

  *push(chunk: Uint8Array): Generator<FrameEvent> {
    if (this.#dead) return;
    const merged = new Uint8Array(this.#buf.length + chunk.length);
    merged.set(this.#buf);
    merged.set(chunk, this.#buf.length);
    let off = 0;
    while (merged.length - off >= 4) {
      const len = new DataView(merged.buffer, merged.byteOffset + off, 4).getUint32(0);
      if (len > this.maxBytes) {
        this.#dead = true;
        this.#buf = new Uint8Array(0);
        yield { kind: "oversized", size: len };
        return;
      }
      if (merged.length - off - 4 < len) break;
      const body = merged.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      let value: unknown;
      try {
        value = JSON.parse(decoder.decode(body));
      } catch (e) {
        yield { kind: "malformed", error: e instanceof Error ? e.message : String(e) };
        continue;
      }
      yield { kind: "frame", value };
    }
    this.#buf = merged.slice(off);
  }
}
