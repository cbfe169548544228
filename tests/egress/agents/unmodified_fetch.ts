/**
 * An unmodified agent's network use: global fetch (HTTPS and HTTP), node:https, and direct
 * connections (host loopback TCP, a public IP, DNS to the system resolver). No Warden SDK.
 */
import https from "node:https";

/** One line per attempt, as the escape agents print them (tests/host/helpers.ts reads them). */
async function attempt(step: string, fn: () => unknown): Promise<void> {
  try {
    console.log("ESCAPE-ATTEMPT " + JSON.stringify({ step, ok: true, value: String(await fn()) }));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    console.log("ESCAPE-ATTEMPT " + JSON.stringify({ step, ok: false, message }));
  }
}

const p = JSON.parse(Deno.readTextFileSync("params.json")) as {
  https: number;
  http: number;
  tcp: number;
  ns: string;
};
const get = async (url: string) => {
  const r = await fetch(url);
  return `${r.status} ${await r.text()}`;
};
await attempt("fetch https public", () => get(`https://localhost:${p.https}/public/a`));
await attempt("fetch https private", () => get(`https://localhost:${p.https}/private/b`));
await attempt("fetch http private", () => get(`http://127.0.0.1:${p.http}/private/c`));
await attempt("node:https public", () =>
  new Promise((resolve, reject) => {
    https.get(`https://localhost:${p.https}/public/node`, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve(`${res.statusCode} ${body}`));
    }).on("error", reject);
  }));
await attempt("direct tcp host loopback", async () => {
  const c = await Deno.connect({ hostname: "127.0.0.1", port: p.tcp });
  c.close();
  return "connected";
});
await attempt("direct tcp public ip", async () => {
  const c = await Deno.connect({ hostname: "1.1.1.1", port: 443 });
  c.close();
  return "connected";
});
await attempt(
  "dns to the system resolver",
  async () =>
    (await Deno.resolveDns("example.com", "A", { nameServer: { ipAddr: p.ns, port: 53 } }))
      .join(","),
);
console.log("ESCAPE-DONE");
