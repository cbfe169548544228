/**
 * The egress proxy's own defences, on its unix socket (no agent): request smuggling (CL+TE,
 * repeated or malformed lengths, other transfer codings, bare LF, folded headers), oversized
 * heads and header counts, malformed CONNECT, data sent before a tunnel exists, connection
 * floods and heads that never end. Each is answered with an HTTP error (never a hang), and none
 * reaches a decision or the upstream.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { createEgressCa } from "../../runtime/egress/mod.ts";
import { type EgressDeps, serveEgress } from "../../runtime/egress/proxy.ts";
import { rawAsk } from "./raw_ask.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function withProxy(
  fn: (ask: (raw: string) => Promise<string>, seen: string[], path: string) => Promise<void>,
  limits: EgressDeps["limits"] = { sniffMs: 300 },
) {
  const dir = await Deno.makeTempDir({ prefix: "warden-egress-proxy-" });
  const path = join(dir, "e.sock");
  const seen: string[] = [];
  const server = serveEgress(path, {
    ca: await createEgressCa(),
    decideFetch: (url, method) => {
      seen.push(`fetch ${method} ${url.href}`);
      return Promise.resolve(
        url.pathname.startsWith("/ok") ? null : { reason: "not this path", rule: "r1" },
      );
    },
    decideConnect: (host, port) => {
      seen.push(`connect ${host}:${port}`);
      return Promise.resolve({ reason: "no", rule: null });
    },
    fetch: (url) => {
      seen.push(`upstream ${url.href}`);
      return Promise.resolve(new Response("upstream body"));
    },
    limits,
  });
  /** Send raw bytes, read until the proxy closes (or 10 s), return what it answered. */
  const ask = (raw: string) => rawAsk(path, raw);
  try {
    await fn(ask, seen, path);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const status = (answer: string) => Number(answer.split(" ")[1]);

Deno.test("egress proxy: smuggling spellings are refused with 400 and decide nothing", async () => {
  await withProxy(async (ask, seen) => {
    const cases: [string, string][] = [
      [
        "CL+TE",
        "POST http://a.test/ok HTTP/1.1\r\nHost: a.test\r\nContent-Length: 4\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET http://a.test/secret HTTP/1.1\r\n\r\n",
      ],
      [
        "TE+CL",
        "POST http://a.test/ok HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n0\r\n\r\n",
      ],
      [
        "two CL",
        "POST http://a.test/ok HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      ],
      ["CL list", "POST http://a.test/ok HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\na"],
      ["CL sign", "POST http://a.test/ok HTTP/1.1\r\nContent-Length: +1\r\n\r\na"],
      ["TE gzip", "POST http://a.test/ok HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"],
      [
        "TE twice",
        "POST http://a.test/ok HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      ],
      ["TE space", "POST http://a.test/ok HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n"],
      ["TE on 1.0", "POST http://a.test/ok HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"],
      ["bare LF", "GET http://a.test/ok HTTP/1.1\nHost: a.test\r\n\r\n"],
      [
        "obs-fold",
        "GET http://a.test/ok HTTP/1.1\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n",
      ],
      ["NUL in value", "GET http://a.test/ok HTTP/1.1\r\nX-A: a\0b\r\n\r\n"],
      ["two Host", "GET http://a.test/ok HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"],
      ["bad chunk", "POST http://a.test/ok HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
      ["origin form", "GET /ok HTTP/1.1\r\nHost: a.test\r\n\r\n"],
      ["HTTP/2 line", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
      ["lower method", "get http://a.test/ok HTTP/1.1\r\n\r\n"],
      ["userinfo", "GET http://u:p@a.test/ok HTTP/1.1\r\n\r\n"],
    ];
    for (const [name, raw] of cases) {
      const answer = await ask(raw);
      assertEquals(status(answer), 400, `${name}: ${answer}`);
      assert(answer.includes("connection: close"), `${name}: ${answer}`);
    }
    assertEquals(seen, [], "a malformed request reached a decision");
  });
});

Deno.test("egress proxy: oversized heads, header floods and bodies are refused", async () => {
  await withProxy(async (ask, seen) => {
    const big = await ask(`GET http://a.test/ok HTTP/1.1\r\nX-A: ${"a".repeat(64 * 1024)}\r\n\r\n`);
    assertEquals(status(big), 431, big);
    const many = Array.from({ length: 200 }, (_, i) => `X-${i}: v`).join("\r\n");
    const flood = await ask(`GET http://a.test/ok HTTP/1.1\r\n${many}\r\n\r\n`);
    assertEquals(status(flood), 431, flood);
    const body = await ask(`POST http://a.test/ok HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n`);
    assertEquals(status(body), 413, body);
    const chunks = await ask(
      `POST http://a.test/ok HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n`,
    );
    assertEquals(status(chunks), 413, chunks);
    assertEquals(seen, []);
  });
});

Deno.test("egress proxy: malformed CONNECT and data before the tunnel are refused", async () => {
  await withProxy(async (ask, seen, path) => {
    for (
      const target of [
        "a.test",
        "a.test:0",
        "a.test:99999",
        "a b:443",
        "/x",
        "a.test:443/x",
        ":443",
      ]
    ) {
      const answer = await ask(`CONNECT ${target} HTTP/1.1\r\n\r\n`);
      assertEquals(status(answer), 400, `${target}: ${answer}`);
    }
    const early = await ask("CONNECT a.test:443 HTTP/1.1\r\n\r\n\x16\x03\x01");
    assertEquals(status(early), 400, early);
    assertEquals(seen, []);
    // Inside a tunnel a second CONNECT is refused too; a silent tunnel is a raw connection,
    // decided as net.connect (refused here: closed).
    const c = await Deno.connect({ transport: "unix", path });
    await c.write(enc.encode("CONNECT a.test:80 HTTP/1.1\r\n\r\n"));
    assert((await readSome(c)).startsWith("HTTP/1.1 200"));
    await c.write(enc.encode("CONNECT b.test:443 HTTP/1.1\r\n\r\n"));
    assertEquals(status(await readSome(c)), 400);
    c.close();
    const silent = await ask("CONNECT a.test:25 HTTP/1.1\r\n\r\n");
    assert(silent.startsWith("HTTP/1.1 200"), silent);
    assertEquals(seen, ["connect a.test:25"]);
  });
});

async function readSome(c: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(4096);
  const n = await c.read(buf);
  return dec.decode(buf.subarray(0, n ?? 0));
}

Deno.test("egress proxy: allowed and denied requests; denied answers 403 with the rule", async () => {
  await withProxy(async (ask, seen) => {
    const ok = await ask("GET http://a.test/ok HTTP/1.1\r\nConnection: close\r\n\r\n");
    assertEquals(status(ok), 200, ok);
    assert(ok.includes("upstream body"), ok);
    const no = await ask("GET http://a.test/secret HTTP/1.1\r\nConnection: close\r\n\r\n");
    assertEquals(status(no), 403, no);
    assert(no.includes("x-warden-rule: r1"), no);
    assert(no.includes("GET http://a.test/secret refused: not this path (rule r1)"), no);
    // Pipelined requests on one connection are each decided.
    const two = await ask(
      "GET http://a.test/ok/1 HTTP/1.1\r\n\r\nGET http://a.test/no HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assertEquals(two.match(/^HTTP\/1\.1 \d+/gm), ["HTTP/1.1 200", "HTTP/1.1 403"], two);
    assertEquals(seen, [
      "fetch GET http://a.test/ok",
      "upstream http://a.test/ok",
      "fetch GET http://a.test/secret",
      "fetch GET http://a.test/ok/1",
      "upstream http://a.test/ok/1",
      "fetch GET http://a.test/no",
    ]);
  });
});

Deno.test("egress proxy: a connection flood is capped and a head that never ends times out", async () => {
  await withProxy(async (ask, _seen, path) => {
    const held: Deno.Conn[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await Deno.connect({ transport: "unix", path });
      await c.write(enc.encode("GET http://a.test/ok HTTP/1.1\r\n")); // never finished
      held.push(c);
    }
    const over = await ask("GET http://a.test/ok HTTP/1.1\r\n\r\n");
    assertEquals(status(over), 503, over);
    // The held heads time out with 408 and their connections close.
    // (a timer of the test's own keeps its event loop alive meanwhile)
    const alive = setTimeout(() => {}, 20_000);
    assertEquals(status(await readSome(held[0])), 408);
    clearTimeout(alive);
    for (const c of held) c.close();
  }, { connections: 4, headMs: 500, sniffMs: 300 });
});
