/**
 * The gateway over streamable HTTP (issue 19): the official SDK's HTTP client reaches the
 * governed server with a bearer token; without it, with a wrong one, with a foreign Host or
 * Origin, with an oversized body, or as a second session, nothing reaches the server.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { assert, assertEquals, assertMatch } from "../policy/asserts.ts";
import { AgentHost } from "../../runtime/host.ts";
import { McpGateway } from "../../runtime/mcp/gateway.ts";
import { serveHttp } from "../../runtime/mcp/http.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { NOTES, POLICY, testPolicy } from "./helpers.ts";

const TOKEN = "t".repeat(8) + crypto.randomUUID();

Deno.test("MCP over HTTP: bearer token, loopback Host/Origin, size cap, one session", async () => {
  const ws = Deno.makeTempDirSync({ prefix: "warden-mcp-http-" });
  const host = new AgentHost({ policy: testPolicy(), rings: loadRings() });
  const gw = await McpGateway.start({ host, server: { module: NOTES, workspace: ws } });
  const served = await serveHttp(gw, { port: 0, token: TOKEN });
  try {
    assertMatch(served.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const post = (headers: Record<string, string>, body = "{}") =>
      fetch(served.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...headers,
        },
        body,
      });
    const init = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "x", version: "1" },
      },
    });
    // Attacks first: none of these reaches the server or opens the session.
    for (
      const [what, headers, status] of [
        ["no token", {}, 401],
        ["a wrong token", { authorization: `Bearer ${TOKEN}x` }, 401],
        ["a token of another length", { authorization: "Bearer short" }, 401],
        ["basic auth", { authorization: `Basic ${btoa(`u:${TOKEN}`)}` }, 401],
        [
          "a foreign Origin",
          { authorization: `Bearer ${TOKEN}`, origin: "https://evil.example" },
          403,
        ],
      ] as const
    ) {
      const r = await post(headers, init);
      assertEquals(r.status, status, what);
      await r.body?.cancel();
    }
    // fetch cannot forge Host: a raw request, as a DNS-rebinding page's would arrive.
    const port = Number(new URL(served.url).port);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode(
      `POST /mcp HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer ${TOKEN}\r\n` +
        `Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
        `Content-Length: ${init.length}\r\nConnection: close\r\n\r\n${init}`,
    ));
    const raw = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
    assertMatch(raw, /^HTTP\/1\.1 403/);
    const big = await post({ authorization: `Bearer ${TOKEN}` }, "x".repeat(5 * 1024 * 1024));
    assertEquals(big.status, 413);
    await big.body?.cancel();
    const other = await fetch(served.url.replace("/mcp", "/"), {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assertEquals(other.status, 404);
    await other.body?.cancel();

    // The official client, with the token: listing and calls decided as on stdio.
    const client = new Client({ name: "http-test", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(served.url), {
        requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
      }),
    );
    const tools = (await client.listTools()).tools.map((t: { name: string }) => t.name);
    assert(tools.includes("add_note") && !tools.includes("delete_notes"), tools.join());
    const ok = await client.callTool({ name: "add_note", arguments: { text: "over http" } });
    assertEquals(ok.isError, undefined, JSON.stringify(ok));
    const no = await client.callTool({ name: "delete_notes", arguments: {} });
    assertEquals(no.isError, true);
    // A second session is refused: the gateway runs one server for one client.
    const again = await post({ authorization: `Bearer ${TOKEN}` }, init);
    assert(again.status >= 400, `second initialize: ${again.status}`);
    await again.body?.cancel();
    const mcp = host.audit.recent.filter((e) => e.path === "mcp" && e.action === "tool.call");
    assertEquals(mcp.map((e) => `${e.resource} ${e.effect}`), [
      "add_note allow",
      "delete_notes deny",
    ]);
    await client.close();
  } finally {
    await served.close();
    await gw.close();
    await host.close();
    Deno.removeSync(ws, { recursive: true });
  }
});

Deno.test("deno task mcp-gateway --http: a client that is not its parent connects with the token", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "warden-mcp-http-cli-" });
  const tokenFile = `${dir}/token`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "task",
      "--quiet",
      "mcp-gateway",
      "--server",
      NOTES,
      "--policy",
      POLICY,
      "--workspace",
      dir,
      "--http",
      "127.0.0.1:0",
      "--token-file",
      tokenFile,
    ],
    cwd: new URL("../../", import.meta.url).pathname,
    env: { NO_COLOR: "1", WARDEN_HOME: dir },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "", url = "";
    while (!url) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`gateway ended before serving:\n${seen}`);
      seen += value;
      url = /on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(seen)?.[1] ?? "";
    }
    lines.releaseLock();
    child.stderr.cancel().catch(() => {});
    const token = Deno.readTextFileSync(tokenFile).trim();
    assertEquals(Deno.statSync(tokenFile).mode! & 0o777, 0o600);
    const client = new Client({ name: "http-cli", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    const tools = (await client.listTools()).tools.map((t: { name: string }) => t.name);
    assert(tools.includes("list_notes"), tools.join());
    await client.close();
  } finally {
    child.kill("SIGTERM");
    await child.status;
    Deno.removeSync(dir, { recursive: true });
  }
});
