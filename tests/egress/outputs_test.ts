/**
 * Output rules on raw fetch through the egress proxy (issue 22): what an agent sends with its
 * own HTTP client to an allowed host is scanned like an SDK `http.fetch` — the URL, every
 * header and the body — and redacted or refused before it leaves. Hostile spellings: a secret
 * split across chunks, base64 or URL-encoded in a query string, in a header value or name, in
 * a gzip body (decoded, scanned, re-encoded) or another encoding (refused unscanned), an
 * oversized body or a decompression bomb (413), a second pipelined request after a clean one,
 * HTTPS through the intercepted tunnel, and a raw CONNECT tunnel (decided as `net.connect`
 * only: no output rules can read it). A rule's `except:` lets the credential meant for one
 * host leave there in the header it names. The proxy runs on its unix socket, without an agent.
 */
import net from "node:net";
import tls from "node:tls";
import { assert, assertEquals } from "../policy/asserts.ts";
import { compilePolicy } from "../../governance/mod.ts";
import { attachOutputRules, compileOutputRules } from "../../governance/outputs/mod.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { createEgressCa, startEgress } from "../../runtime/egress/mod.ts";
import { type AgentRef, Governor } from "../../runtime/governor.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { rawAsk } from "./raw_ask.ts";

const TOKEN = "ghp_" + "k7Yq2".repeat(8);
const enc = new TextEncoder();
const dec = new TextDecoder();

const POLICY = (extra = "") =>
  `apiVersion: warden/v1
kind: Policy
name: egress-outputs
default: deny
rules:
  - id: upstream
    effect: allow
    action: net.fetch
    when: { url.host: { in: [127.0.0.1, localhost] } }
${extra}outputs:
  max_bytes: 65536
  dlp:
    - id: no-credentials
      builtin: [tokens, cloud, private_key]
      effect: redact
      except:
        - host: localhost
          header: x-upstream-key
    - id: no-codename
      pattern: 'project-(?:zeus|hera)'
      effect: deny
      on: [http.request]
`;

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

interface Env {
  /** Send raw bytes to the proxy, read until it closes (or 10 s). */
  ask(raw: string | Uint8Array): Promise<string>;
  seen: Seen[];
  audit: Record<string, unknown>[];
  http: number;
  https: number;
  tcp: { port: number; received: () => string };
  socketPath: string;
  caPem: string;
}

async function withEgress(fn: (e: Env) => Promise<void>, extra = "", urlSecret = false) {
  const dir = await Deno.makeTempDir({ prefix: "warden-egress-outputs-" });
  const text = POLICY(extra);
  const policy = attachOutputRules(
    compilePolicy(text, { path: "p.yaml" }),
    compileOutputRules([{ text, path: "p.yaml" }]),
  );
  const audit: Record<string, unknown>[] = [];
  const log = new AuditLog();
  log.subscribe((x) => audit.push(x as unknown as Record<string, unknown>));
  const governor = new Governor(policy, loadRings(), log);
  const agent: AgentRef = {
    id: "did:key:z6MkEgressOutputs",
    name: "egress-outputs",
    ring: 2,
    trust: 700,
    labels: {},
    workspace: dir,
    code: dir,
    sdk: dir,
  };
  const seen: Seen[] = [];
  const handler = async (r: Request) => {
    const headers: Record<string, string> = {};
    r.headers.forEach((v, k) => (headers[k] = v));
    const body = new Uint8Array(await r.arrayBuffer());
    seen.push({ method: r.method, url: r.url, headers, body });
    return new Response("ok");
  };
  const testCa = await createEgressCa();
  const leaf = await testCa.leaf("localhost");
  const quiet = { hostname: "127.0.0.1", port: 0, onListen: () => {} };
  const httpServer = Deno.serve(quiet, handler);
  const httpsServer = Deno.serve({ ...quiet, cert: leaf.cert, key: leaf.key }, handler);
  let received = "";
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const c of tcp) {
      (async () => {
        for await (const b of c.readable) received += dec.decode(b);
      })().catch(() => {});
    }
  })().catch(() => {});
  const egress = await startEgress({
    dir,
    agent,
    governor,
    host: {},
    upstreamCaCerts: [testCa.certPem],
    port: 0,
  });
  const ask = (raw: string | Uint8Array) => rawAsk(egress.socketPath, raw);
  try {
    await fn({
      ask,
      seen,
      audit,
      http: httpServer.addr.port,
      https: httpsServer.addr.port,
      tcp: { port: (tcp.addr as Deno.NetAddr).port, received: () => received },
      socketPath: egress.socketPath,
      caPem: egress.caPem,
    });
    // Only the decided URL is audited as it was asked (net.fetch records its resource).
    const kept = audit.filter((x) => !urlSecret || !String(x.resource).includes("?q="));
    assert(!JSON.stringify(kept).includes(TOKEN), "the secret is in the audit log");
  } finally {
    await egress.close();
    await httpServer.shutdown();
    await httpsServer.shutdown();
    tcp.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const status = (answer: string) => Number(answer.split(" ")[1]);
const checks = (audit: Record<string, unknown>[]) =>
  audit.filter((x) => x.action === "output.check");

function post(url: string, body: string, headers: string[] = []): string {
  return [
    `POST ${url} HTTP/1.1`,
    "Host: x",
    `Content-Length: ${enc.encode(body).length}`,
    ...headers,
    "Connection: close",
    "",
    body,
  ].join("\r\n");
}

Deno.test("egress outputs: a secret split across chunks is found; the body is re-framed redacted", async () => {
  await withEgress(async ({ ask, seen, audit, http }) => {
    const half = 10;
    const chunks = [`k=${TOKEN.slice(0, half)}`, `${TOKEN.slice(half)}&done=1`];
    const raw = `POST http://127.0.0.1:${http}/up HTTP/1.1\r\nHost: x\r\n` +
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      chunks.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join("") + "0\r\n\r\n";
    const a = await ask(raw);
    assertEquals(status(a), 200, a);
    assertEquals(seen.length, 1);
    const body = dec.decode(seen[0].body);
    assertEquals(body, "k=[redacted:no-credentials]&done=1");
    assertEquals(seen[0].headers["content-length"], String(enc.encode(body).length));
    assertEquals(seen[0].headers["transfer-encoding"], undefined);
    const c = checks(audit)[0];
    assertEquals([c.path, c.rule, c.outcome], ["egress", "no-credentials", "redact"]);
    const f = (c.findings as Record<string, unknown>[])[0];
    assertEquals(f.path, "$.body");
  });
});

Deno.test("egress outputs: a Content-Length body is redacted and its length fixed", async () => {
  await withEgress(async ({ ask, seen, http }) => {
    const a = await ask(post(`http://127.0.0.1:${http}/up`, `{"token":"${TOKEN}"}`));
    assertEquals(status(a), 200, a);
    const body = dec.decode(seen[0].body);
    assertEquals(body, '{"token":"[redacted:no-credentials]"}');
    assertEquals(seen[0].headers["content-length"], String(body.length));
  });
});

Deno.test("egress outputs: a secret in the query string, raw, base64 or URL-encoded, is not sent", async () => {
  await withEgress(
    async ({ ask, seen, audit, http }) => {
      const b64 = btoa(`token=${TOKEN}`).replace(/=+$/, "");
      const pct = TOKEN.replace("_", "%5F").replace(/k/g, "%6B");
      for (const q of [TOKEN, b64, pct]) {
        const a = await ask(
          `GET http://127.0.0.1:${http}/search?q=${q} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        );
        assertEquals(status(a), 403, `${q}: ${a}`);
        assert(a.includes("output rules: a secret in the URL"), a);
        assert(a.includes("x-warden-rule: no-credentials"), a);
      }
      assertEquals(seen.length, 0, "a refused request reached the server");
      assertEquals(checks(audit).filter((c) => c.effect === "deny").length, 3);
    },
    "",
    true,
  );
});

Deno.test("egress outputs: header values are redacted; a denied value or a secret header name refuses", async () => {
  await withEgress(async ({ ask, seen, audit, http }) => {
    const url = `http://127.0.0.1:${http}/up`;
    const a = await ask(
      post(url, "hi", [
        `Authorization: Bearer ${TOKEN}`,
        `Cookie: s=${TOKEN}`,
        `X-Upstream-Key: ${TOKEN}`,
      ]),
    );
    assertEquals(status(a), 200, a);
    // except: names https://localhost, not plain http to 127.0.0.1.
    assertEquals(seen[0].headers["x-upstream-key"], "[redacted:no-credentials]");
    assertEquals(seen[0].headers.authorization, "Bearer [redacted:no-credentials]");
    assertEquals(seen[0].headers.cookie, "s=[redacted:no-credentials]");
    const f = checks(audit)[0].findings as Record<string, unknown>[];
    assertEquals(f.map((x) => x.path), [
      "$.headers.authorization",
      "$.headers.cookie",
      "$.headers.x-upstream-key",
    ]);
    const d = await ask(post(url, "hi", ["X-Note: about project-zeus"]));
    assertEquals(status(d), 403, d);
    assert(d.includes("x-warden-rule: no-codename"), d);
    const n = await ask(post(url, "hi", [`X-${TOKEN}: 1`]));
    assertEquals(status(n), 403, n);
    assert(n.includes("a secret in a header name"), n);
    assertEquals(seen.length, 1, "a refused request reached the server");
  });
});

async function gzip(text: string, format: CompressionFormat = "gzip"): Promise<Uint8Array> {
  const s = new Blob([text]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

async function gunzip(b: Uint8Array, format: CompressionFormat = "gzip"): Promise<string> {
  const s = new Blob([new Uint8Array(b)]).stream().pipeThrough(new DecompressionStream(format));
  return await new Response(s).text();
}

function binaryPost(url: string, body: Uint8Array, headers: string[]): Uint8Array {
  const head = [`POST ${url} HTTP/1.1`, "Host: x", `Content-Length: ${body.length}`, ...headers];
  const h = enc.encode([...head, "Connection: close", "", ""].join("\r\n"));
  const out = new Uint8Array(h.length + body.length);
  out.set(h);
  out.set(body, h.length);
  return out;
}

Deno.test("egress outputs: a gzip or deflate body is decoded, scanned and re-encoded redacted", async () => {
  await withEgress(async ({ ask, seen, http }) => {
    const url = `http://127.0.0.1:${http}/up`;
    for (const format of ["gzip", "deflate"] as const) {
      const body = await gzip(`{"token":"${TOKEN}"}`, format);
      const a = await ask(binaryPost(url, body, [`Content-Encoding: ${format}`]));
      assertEquals(status(a), 200, a);
      const got = seen.at(-1)!;
      assertEquals(got.headers["content-encoding"], format);
      assertEquals(await gunzip(got.body, format), '{"token":"[redacted:no-credentials]"}');
    }
    // A clean gzip body goes byte for byte.
    const clean = await gzip("nothing to see");
    assertEquals(status(await ask(binaryPost(url, clean, ["Content-Encoding: gzip"]))), 200);
    assertEquals(seen.at(-1)!.body, clean);
  });
});

Deno.test("egress outputs: a binary body is scanned byte for byte; other bytes stay as they were", async () => {
  await withEgress(async ({ ask, seen, http }) => {
    const pre = new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0x0a]);
    const post_ = new Uint8Array([0x00, 0xc3, 0x28, 0xff]);
    const body = new Uint8Array([...pre, ...enc.encode(TOKEN), ...post_]);
    const a = await ask(binaryPost(`http://127.0.0.1:${http}/up`, body, []));
    assertEquals(status(a), 200, a);
    const want = [...pre, ...enc.encode("[redacted:no-credentials]"), ...post_];
    assertEquals([...seen[0].body], want);
  });
});

Deno.test("egress outputs: a UTF-16 body (ASCII letters between NULs) is still read", async () => {
  await withEgress(async ({ ask, seen, http }) => {
    const utf16 = (t: string, bom: boolean, be = false) => {
      const out = bom ? [be ? 0xfe : 0xff, be ? 0xff : 0xfe] : [];
      for (const ch of t) out.push(...(be ? [0, ch.charCodeAt(0)] : [ch.charCodeAt(0), 0]));
      return new Uint8Array(out);
    };
    const url = `http://127.0.0.1:${http}/up`;
    for (const [bom, be] of [[false, false], [true, false], [true, true]]) {
      const body = utf16(`key=${TOKEN}`, bom, be);
      const a = await ask(binaryPost(url, body, ["Content-Type: text/plain; charset=utf-16"]));
      assertEquals(status(a), 200, a);
      const got = seen.at(-1)!.body;
      assert(!dec.decode(got).replace(/\0/g, "").includes(TOKEN), `bom ${bom} be ${be}: sent`);
    }
  });
});

Deno.test("egress outputs: other encodings, stacked ones and broken gzip are refused unscanned", async () => {
  await withEgress(async ({ ask, seen, audit, http }) => {
    const url = `http://127.0.0.1:${http}/up`;
    const body = await gzip(`{"token":"${TOKEN}"}`);
    for (const ce of ["br", "zstd", "gzip, gzip", "compress"]) {
      const a = await ask(binaryPost(url, body, [`Content-Encoding: ${ce}`]));
      assertEquals(status(a), 403, `${ce}: ${a}`);
      assert(a.includes("not scanned (fail closed)"), a);
    }
    const broken = await ask(binaryPost(url, body.subarray(0, 12), ["Content-Encoding: gzip"]));
    assertEquals(status(broken), 403, broken);
    // Two gzip members (a server may read both): the secret in the second is not skipped.
    const members = new Uint8Array([...await gzip("hello "), ...body]);
    const two = await ask(binaryPost(url, members, ["Content-Encoding: gzip"]));
    assertEquals(status(two), 403, two);
    assertEquals(seen.length, 0, "a refused request reached the server");
    assert(checks(audit).every((c) => c.effect === "deny"));
  });
});

Deno.test("egress outputs: an oversized body or a decompression bomb is refused with 413", async () => {
  await withEgress(async ({ ask, seen, audit, http }) => {
    const url = `http://127.0.0.1:${http}/up`;
    const big = await ask(post(url, "a".repeat(70_000)));
    assertEquals(status(big), 413, big);
    assert(big.includes("not scanned (fail closed)"), big);
    const bomb = await gzip("a".repeat(10_000_000));
    assert(bomb.length < 65536, "the bomb is small");
    const b = await ask(binaryPost(url, bomb, ["Content-Encoding: gzip"]));
    assertEquals(status(b), 413, b);
    assertEquals(seen.length, 0, "a refused request reached the server");
    assertEquals(checks(audit).length, 2);
  });
});

Deno.test("egress outputs: a pipelined request after a clean one is checked on its own", async () => {
  await withEgress(async ({ ask, seen, http }) => {
    const url = `http://127.0.0.1:${http}/up`;
    const clean = `POST ${url} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok`;
    const second =
      `POST ${url} HTTP/1.1\r\nHost: x\r\nContent-Length: ${TOKEN.length}\r\n\r\n${TOKEN}`;
    const third = post(url, "project-hera");
    const a = await ask(clean + second + third);
    const statuses = [...a.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => Number(m[1]));
    assertEquals(statuses, [200, 200, 403], a);
    assertEquals(seen.map((s) => dec.decode(s.body)), ["ok", "[redacted:no-credentials]"]);
  });
});

/** CONNECT through the proxy, then TLS with the host's egress CA, then `request`. */
function overTls(socketPath: string, caPem: string, port: number, request: string) {
  return new Promise<string>((resolve, reject) => {
    const raw = net.createConnection({ path: socketPath });
    let head = "";
    const onData = (b: Uint8Array) => {
      head += dec.decode(b);
      if (!head.includes("\r\n\r\n")) return;
      raw.off("data", onData);
      if (!head.startsWith("HTTP/1.1 200")) return reject(new Error(head));
      const t = tls.connect({ socket: raw, ca: caPem, servername: "localhost" }, () => {
        t.write(request);
      });
      let out = "";
      t.on("data", (d: Uint8Array) => (out += dec.decode(d)));
      t.on("end", () => resolve(out));
      t.on("close", () => resolve(out));
      t.on("error", reject);
    };
    raw.on("data", onData);
    raw.on("error", reject);
    raw.write(`CONNECT localhost:${port} HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
  });
}

Deno.test("egress outputs: HTTPS inside an intercepted tunnel is scanned and redacted", async () => {
  await withEgress(async ({ seen, audit, https, socketPath, caPem }) => {
    const a = await overTls(
      socketPath,
      caPem,
      https,
      post("/up", `k=${TOKEN}`, [`X-Api-Key: ${TOKEN}`, `X-Upstream-Key: ${TOKEN}`]),
    );
    assertEquals(status(a), 200, a);
    assertEquals(dec.decode(seen[0].body), "k=[redacted:no-credentials]");
    assertEquals(seen[0].headers["x-api-key"], "[redacted:no-credentials]");
    // The credential the policy means for this host, in the header it names (except:).
    assertEquals(seen[0].headers["x-upstream-key"], TOKEN);
    assert(seen[0].url.startsWith("https://localhost:"), seen[0].url);
    const c = checks(audit)[0];
    assert(String(c.resource).startsWith("http.request:https://localhost:"), String(c.resource));
  });
});

/** CONNECT to `port`, then send `bytes` once the tunnel is up; what came back until close. */
async function rawTunnel(socketPath: string, port: number, bytes: string): Promise<string> {
  const c = await Deno.connect({ transport: "unix", path: socketPath });
  await c.write(enc.encode(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: x\r\n\r\n`));
  const buf = new Uint8Array(1024);
  const n = await c.read(buf);
  let out = dec.decode(buf.subarray(0, n ?? 0));
  await c.write(enc.encode(bytes));
  const deadline = setTimeout(() => c.close(), 10_000);
  try {
    for (;;) {
      const m = await c.read(buf);
      if (m === null) break;
      out += dec.decode(buf.subarray(0, m));
    }
  } catch { /* closed */ }
  clearTimeout(deadline);
  try {
    c.close();
  } catch { /* closed */ }
  return out;
}

Deno.test("egress outputs: a raw CONNECT tunnel is decided as net.connect only (denied by default)", async () => {
  await withEgress(async ({ socketPath, audit, tcp }) => {
    const a = await rawTunnel(socketPath, tcp.port, `token=${TOKEN}\n`);
    // The tunnel opened (200), the first bytes were neither TLS nor HTTP: decided as a raw
    // connection, which this policy does not allow, so the tunnel was closed unforwarded.
    assert(a.startsWith("HTTP/1.1 200"), a);
    const d = audit.find((x) => x.action === "net.connect")!;
    assertEquals([d.effect, d.resource], ["deny", `127.0.0.1:${tcp.port}`]);
    assertEquals(tcp.received(), "");
    assertEquals(checks(audit), []);
  });
});

Deno.test("egress outputs: an allowed raw tunnel carries bytes unscanned (documented limit)", async () => {
  const rule = `  - id: raw-tcp
    effect: allow
    action: net.connect
    when: { resource: { prefix: [127.0.0.1] } }
`;
  await withEgress(async ({ socketPath, audit, tcp }) => {
    const c = await Deno.connect({ transport: "unix", path: socketPath });
    await c.write(enc.encode(`CONNECT 127.0.0.1:${tcp.port} HTTP/1.1\r\nHost: x\r\n\r\n`));
    const buf = new Uint8Array(1024);
    await c.read(buf);
    await c.write(enc.encode("hello raw\n"));
    for (let i = 0; i < 200 && !tcp.received().includes("hello raw"); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    c.close();
    assertEquals(tcp.received(), "hello raw\n");
    const d = audit.find((x) => x.action === "net.connect")!;
    assertEquals([d.effect, d.rule], ["allow", "raw-tcp"]);
  }, rule);
});
