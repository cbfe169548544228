/** Test helper: send raw bytes to a unix socket (the egress proxy), return all it answers. */

const enc = new TextEncoder();

/** Send `raw`, read until the peer closes (or `timeoutMs`), return what it answered as text. */
export async function rawAsk(
  path: string,
  raw: string | Uint8Array,
  timeoutMs = 10_000,
): Promise<string> {
  const dec = new TextDecoder();
  const c = await Deno.connect({ transport: "unix", path });
  await c.write(typeof raw === "string" ? enc.encode(raw) : raw);
  let out = "";
  const buf = new Uint8Array(65536);
  const deadline = setTimeout(() => c.close(), timeoutMs);
  try {
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      out += dec.decode(buf.subarray(0, n), { stream: true });
    }
  } catch { /* closed by the deadline */ }
  clearTimeout(deadline);
  try {
    c.close();
  } catch { /* closed */ }
  return out + dec.decode();
}
