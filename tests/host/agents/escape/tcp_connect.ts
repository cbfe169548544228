/** Case 7: raw TCP connection to a loopback listener (Deno.connect and node:net). */
import net from "node:net";
import { attempt, done, params } from "./_attempt.ts";

const { port } = params<{ port: number }>();
await attempt("Deno.connect", async () => {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  const buf = new Uint8Array(1024);
  const n = await c.read(buf);
  c.close();
  return new TextDecoder().decode(buf.subarray(0, n ?? 0));
});
await attempt("node:net", () =>
  new Promise<string>((resolve, reject) => {
    let out = "";
    const s = net.createConnection({ host: "127.0.0.1", port });
    s.on("data", (d) => (out += d));
    s.on("end", () => resolve(out));
    s.on("error", reject);
  }));
done();
