/**
 * A document server for the gateway's resource tests (hand-written JSON-RPC, no SDK), written
 * the way lenient real servers are: it resolves a resource URI itself (scheme and host case,
 * percent-decoding, `.`/`..`, `//`, backslashes, `file://localhost`), so every spelling of a
 * secret reaches the secret. It records every message it receives on stderr
 * (`got <method> <params>`), offers resource templates and completions (which echo a marker
 * naming what they complete), and returns embedded resources and resource links in tool and
 * prompt results.
 */
const enc = new TextEncoder();
const out = (v: unknown) => Deno.stdout.writeSync(enc.encode(JSON.stringify(v) + "\n"));

const DOCS: Record<string, string> = {
  "demo://docs/public/a": "public a",
  "demo://docs/public/b": "public b",
  "demo://docs/secret/key": "SECRET-KEY",
  "file://srv/public.txt": "public file",
  "file://srv/secret.txt": "SECRET-FILE",
};

/** The server's own (lenient) resolution: the key of the document a URI names. */
function resolve(raw: string): string | null {
  let s = raw.trim();
  try {
    s = decodeURIComponent(s);
  } catch { /* as written */ }
  s = s.replace(/\\/g, "/").replace(/[#?].*$/s, "");
  const m = /^([a-z][a-z0-9+.-]*):(.*)$/is.exec(s);
  if (!m) return null;
  const scheme = m[1].toLowerCase();
  let rest = m[2].replace(/^\/+/, "");
  if (scheme === "file" && rest.toLowerCase().startsWith("localhost/")) rest = rest.slice(10);
  const segs: string[] = [];
  for (const seg of rest.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") segs.pop();
    else segs.push(seg);
  }
  if (scheme !== "file" && segs.length > 0) segs[0] = segs[0].toLowerCase();
  return `${scheme}://${segs.join("/")}`;
}

function read(uri: string) {
  const key = resolve(uri);
  if (key === "demo://docs/public/bundle") {
    // One read, several documents: the second one is the secret.
    return {
      contents: [
        { uri: "demo://docs/public/a", text: DOCS["demo://docs/public/a"] },
        { uri: "demo://docs/secret/key", text: DOCS["demo://docs/secret/key"] },
      ],
    };
  }
  if (key === null || !(key in DOCS)) return null;
  return { contents: [{ uri, mimeType: "text/plain", text: DOCS[key] }] };
}

const EMBEDDED = [
  { type: "text", text: "two documents follow" },
  { type: "resource", resource: { uri: "demo://docs/public/a", text: "public a" } },
  { type: "resource", resource: { uri: "DEMO://docs/public/../secret/key", text: "SECRET-KEY" } },
  { type: "resource_link", uri: "demo://docs/public/b", name: "b" },
  { type: "resource_link", uri: "demo://docs/secret/key", name: "key" },
  { type: "resource", resource: { uri: "demo://docs/%zz", blob: btoa("SECRET-BLOB") } },
];

function answer(m: { id: unknown; method: string; params?: Record<string, unknown> }): unknown {
  const p = m.params ?? {};
  switch (m.method) {
    case "initialize":
      return {
        protocolVersion: p.protocolVersion,
        capabilities: { tools: {}, resources: {}, prompts: {}, completions: {} },
        serverInfo: { name: "docs", version: "0.0.1" },
      };
    case "tools/list":
      return {
        tools: [{ name: "fetch_docs", inputSchema: { type: "object", properties: {} } }],
      };
    case "tools/call":
      return { content: EMBEDDED };
    case "resources/list":
      return {
        resources: [
          { uri: "demo://docs/public/a", name: "a" },
          { uri: "DEMO://docs/public/./b", name: "b" },
          { uri: "demo://docs/secret/key", name: "key" },
          { uri: "demo://DOCS/public/../secret/key", name: "key again" },
          { uri: "demo://docs/%zz", name: "broken" },
        ],
      };
    case "resources/templates/list":
      return {
        resourceTemplates: [
          { uriTemplate: "demo://docs/public/{name}", name: "public" },
          { uriTemplate: "demo://docs/secret/{name}", name: "secret" },
          { uriTemplate: "file:///srv/{file}", name: "files" },
        ],
      };
    case "resources/read":
      return read(String(p.uri));
    case "prompts/list":
      return { prompts: [{ name: "brief" }, { name: "hidden_prompt" }] };
    case "prompts/get":
      if (p.name === "hidden_prompt") {
        return {
          messages: [{ role: "user", content: { type: "text", text: "HIDDEN-PROMPT" } }],
        };
      }
      return {
        messages: EMBEDDED.map((content) => ({ role: "user", content })),
      };
    case "completion/complete": {
      const ref = p.ref as { name?: string; uri?: string };
      return {
        completion: { values: [`COMPLETED-${ref.name ?? ref.uri}`], hasMore: false },
      };
    }
    case "ping":
      return {};
    default:
      return undefined;
  }
}

let buf = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buf += chunk;
  let nl: number;
  while ((nl = buf.indexOf("\n")) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    const m = JSON.parse(line);
    if (m.method) console.error(`got ${m.method} ${JSON.stringify(m.params ?? {})}`);
    if (m.id === undefined || m.method === undefined) continue;
    const result = answer(m);
    if (result === undefined) {
      out({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "no such method" } });
    } else if (result === null) {
      out({ jsonrpc: "2.0", id: m.id, error: { code: -32002, message: "resource not found" } });
    } else out({ jsonrpc: "2.0", id: m.id, result });
  }
}
