/** Length-prefixed JSON frames (4-byte big-endian length, then UTF-8 JSON). */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const EMPTY = new Uint8Array(0);
/** Frames of up to this many UTF-16 units are encoded into one buffer. */
const SMALL = 16 * 1024;

/** Encode a value as one frame. */
export function encodeFrame(value: unknown): Uint8Array {
  const json = JSON.stringify(value);
  if (json.length <= SMALL) {
    // One allocation: UTF-8 needs at most 3 bytes per UTF-16 unit.
    const out = new Uint8Array(4 + json.length * 3);
    const { written } = encoder.encodeInto(json, out.subarray(4));
    new DataView(out.buffer).setUint32(0, written);
    return out.subarray(0, 4 + written);
  }
  const body = encoder.encode(json);
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
  #buf = EMPTY;
  #dead = false;
  constructor(readonly maxBytes: number) {}

  *push(chunk: Uint8Array): Generator<FrameEvent> {
    if (this.#dead) return;
    // Common case: nothing buffered, so frames are read straight from the chunk (no copy).
    let merged = chunk;
    if (this.#buf.length > 0) {
      merged = new Uint8Array(this.#buf.length + chunk.length);
      merged.set(this.#buf);
      merged.set(chunk, this.#buf.length);
    }
    let off = 0;
    while (merged.length - off >= 4) {
      const len = ((merged[off] << 24) | (merged[off + 1] << 16) | (merged[off + 2] << 8) |
        merged[off + 3]) >>> 0;
      if (len > this.maxBytes) {
        this.#dead = true;
        this.#buf = EMPTY;
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
    // Keep only the unread tail, copied: the caller reuses its read buffer.
    this.#buf = off === merged.length ? EMPTY : merged.slice(off);
  }
}
