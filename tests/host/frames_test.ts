/** The SDK wire framing: any split of a byte stream into chunks yields the same frames. */
import { assertEquals } from "../policy/asserts.ts";
import fc from "fast-check";
import { encodeFrame, FrameDecoder, type FrameEvent } from "../../sdk/frames.ts";

/** Feed `bytes` in chunks cut at `cuts`, through one reused read buffer (as the transport does). */
function decodeChunked(bytes: Uint8Array, cuts: number[], max = 1 << 20): FrameEvent[] {
  const dec = new FrameDecoder(max);
  const readBuf = new Uint8Array(bytes.length + 1);
  const out: FrameEvent[] = [];
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...points, bytes.length]) {
    if (to < from) continue;
    readBuf.set(bytes.subarray(from, to));
    for (const ev of dec.push(readBuf.subarray(0, to - from))) out.push(ev);
    readBuf.fill(0xff); // the next read overwrites the buffer: nothing may alias it
    from = to;
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

Deno.test("frames: every chunking of a stream of frames decodes to the same values", () => {
  fc.assert(
    fc.property(
      fc.array(fc.jsonValue(), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (values, cuts) => {
        const bytes = concat(values.map(encodeFrame));
        const evs = decodeChunked(bytes, cuts);
        assertEquals(
          evs,
          values.map((v) => ({ kind: "frame", value: JSON.parse(JSON.stringify(v)) })),
        );
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("frames: non-ASCII text and a large frame round-trip exactly", () => {
  const values = ["é€😀".repeat(7000), { k: "\u0000\u2028" }, "x".repeat(40_000)];
  const bytes = concat(values.map(encodeFrame));
  assertEquals(
    decodeChunked(bytes, [1, 3, 5, 9000, 30_000]),
    values.map((value) => ({ kind: "frame", value })),
  );
});

Deno.test("frames: an oversized length ends the stream; a malformed body is reported and skipped", () => {
  const bad = new Uint8Array([0, 0, 0, 2, 0x7b, 0x7b]); // "{{"
  const good = encodeFrame({ ok: 1 });
  const huge = new Uint8Array([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
  const evs = decodeChunked(concat([bad, good, huge, good]), [2, 7], 1024);
  assertEquals(evs.map((e) => e.kind), ["malformed", "frame", "oversized"]);
  assertEquals(evs[2], { kind: "oversized", size: 0x7fffffff });
});
