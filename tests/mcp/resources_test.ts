/**
 * Issue 16, classes 14 and 15, against a lenient document server (tests/mcp/servers/docs.ts)
 * that resolves URIs itself and records every message it receives, driven by the SDK's own
 * client through the gateway:
 * - 14: a resource URI is decided in normalized form and forwarded in exactly that form; every
 *   re-spelling of a denied URI is denied, none escapes an allow-list, and what cannot be
 *   normalized is refused (audited) before the server sees it.
 * - 15: completions, template listings, embedded resources, resource links and every other
 *   method are decided; what the gateway does not govern fails closed.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../policy/asserts.ts";
import { join } from "node:path";
import {
  CallToolResultSchema,
  ClientNotificationSchema,
  ClientRequestSchema,
  EmptyResultSchema,
  GetPromptResultSchema,
  ReadResourceResultSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { GOVERNED_METHODS } from "../../runtime/mcp/methods.ts";
import { policyOf, SERVERS, type Session, session } from "./helpers.ts";

const DOCS = join(SERVERS, "docs.ts");

const HEAD = `apiVersion: warden/v1
kind: Policy
name: docs
default: deny
rules:
  - { id: tools, effect: allow, action: tool.call }
`;
/** Everything readable except two secrets (a deny list). */
const DENY_LIST = HEAD + `
  - { id: prompts, effect: allow, action: mcp.prompt.get }
  - { id: no-hidden, effect: deny, action: mcp.prompt.get, resource: hidden_prompt }
  - { id: any-doc, effect: allow, action: mcp.resource.read }
  - id: no-secrets
    effect: deny
    action: mcp.resource.read
    resource: ["demo://docs/secret/key", "file:///srv/secret.txt"]
`;
/** Only public documents (an allow-list). */
const ALLOW_LIST = HEAD + `
  - { id: brief, effect: allow, action: mcp.prompt.get, resource: brief }
  - id: public-docs
    effect: allow
    action: mcp.resource.read
    when: { resource: { prefix: "demo://docs/public/" } }
  - { id: public-file, effect: allow, action: mcp.resource.read, resource: "file:///srv/public.txt" }
`;

/** Two documents by name, and the brief prompt: templates are judged against literal URIs. */
const LITERAL = HEAD + `
  - { id: brief, effect: allow, action: mcp.prompt.get, resource: brief }
  - id: two-docs
    effect: allow
    action: mcp.resource.read
    resource: ["demo://docs/public/a", "file:///srv/public.txt"]
`;

/** Wait until the server has handled everything sent so far (its stderr is in order). */
async function settled(s: Session): Promise<void> {
  const before = s.notices.filter((n) => n.startsWith("docs: got tools/list")).length;
  await s.client.listTools();
  for (let i = 0; i < 500; i++) {
    if (s.notices.filter((n) => n.startsWith("docs: got tools/list")).length > before) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the server never reported the marker:\n${s.notices.join("\n")}`);
}

/** What the server received for `method`, as the params it printed. */
function received(s: Session, method: string): Record<string, unknown>[] {
  const tag = `docs: got ${method} `;
  return s.notices.filter((n) => n.startsWith(tag)).map((n) => JSON.parse(n.slice(tag.length)));
}

const SECRET_SPELLINGS = [
  "DEMO://docs/secret/key",
  "Demo://docs/secret/key",
  "demo://DOCS/secret/key",
  "demo://docs/public/../secret/key",
  "demo://docs/public/%2e%2e/secret/key",
  "demo://docs/public/.%2E/secret/key",
  "demo://docs/%73ecret/key",
  "demo://docs/secret/%6B%65%79",
  "demo://docs/./secret/key",
  "demo://docs//secret/key",
  "demo://docs/secret//key",
  "demo://docs/secret/key#fragment",
  "demo://docs/secret/./key",
  "demo://docs/secret/x/../key",
  "file://localhost/srv/secret.txt",
  "file://LOCALHOST/srv/secret.txt",
  "file:///srv//secret.txt",
  "FILE:///srv/./secret.txt",
  "file:/srv/secret.txt",
  "file:////srv/secret.txt",
  "file:///srv/public.txt/../secret.txt",
  "file:///srv/%73ecret.txt",
];

Deno.test("class 14: every re-spelling of a denied resource URI is denied before the server sees it", async () => {
  const s = await session({ module: DOCS }, { policy: policyOf(DENY_LIST) });
  try {
    for (const uri of SECRET_SPELLINGS) {
      const r = await s.client.readResource({ uri }).then(
        (x: unknown) => JSON.stringify(x),
        (e: Error) => e.message,
      );
      assert(!r.includes("SECRET"), `${uri} leaked: ${r}`);
      assertMatch(
        r,
        /Warden denied resource (demo:\/\/docs\/secret\/key|file:\/\/\/srv\/secret\.txt) \(rule no-secrets\)/,
        uri,
      );
    }
    await settled(s);
    assertEquals(received(s, "resources/read"), [], "no spelling reached the server");
    const reads = s.host.audit.recent.filter((e) => e.action === "mcp.resource.read");
    assertEquals(reads.length, SECRET_SPELLINGS.length);
    assert(reads.every((e) => e.effect === "deny" && e.rule === "no-secrets"));
    // The audit names the normalized URI that was decided.
    assertEquals(
      new Set(reads.map((e) => e.resource)),
      new Set(["demo://docs/secret/key", "file:///srv/secret.txt"]),
    );
  } finally {
    await s.close();
  }
});

Deno.test("class 14: no spelling escapes an allow-list; allowed reads reach the server in the decided form", async () => {
  const s = await session({ module: DOCS }, { policy: policyOf(ALLOW_LIST) });
  try {
    const escapes = [
      ...SECRET_SPELLINGS,
      "demo://docs/public/../secret/key",
      "demo://docs/public/%2E%2E/secret/key",
      "demo://docs/public/..%2Fsecret%2Fkey",
      "demo://docs/public/..\\secret\\key",
      "demo://docs/public/%2e%2e%5csecret%5ckey",
      "demo://docs/public/../../docs/secret/key",
      "demo://docs/publicx/../secret/key",
      "demo://user@docs/public/../secret/key",
    ];
    for (const uri of escapes) {
      const r = await s.client.readResource({ uri }).then(
        (x: unknown) => JSON.stringify(x),
        (e: Error) => e.message,
      );
      assert(!r.includes("SECRET"), `${uri} leaked: ${r}`);
      assertMatch(r, /Warden denied resource/, uri);
    }
    await settled(s);
    assertEquals(received(s, "resources/read"), [], "no escape reached the server");

    const allowed: [string, string, string][] = [
      ["DEMO://docs/public/./a", "demo://docs/public/a", "public a"],
      ["demo://DOCS//public/%61", "demo://docs/public/a", "public a"],
      ["demo://docs/public/x/../b#top", "demo://docs/public/b", "public b"],
      ["file://localhost/srv/public.txt", "file:///srv/public.txt", "public file"],
      ["FILE:/srv/./public.txt", "file:///srv/public.txt", "public file"],
    ];
    for (const [uri, , text] of allowed) {
      const r = await s.client.readResource({ uri });
      assertEquals((r.contents[0] as { text: string }).text, text, uri);
    }
    await settled(s);
    assertEquals(received(s, "resources/read").map((p) => p.uri), allowed.map((a) => a[1]));
  } finally {
    await s.close();
  }
});

Deno.test("class 14: a URI that cannot be normalized is refused and audited, never forwarded", async () => {
  const s = await session({ module: DOCS }, { policy: policyOf(DENY_LIST) });
  try {
    const bad = [
      "demo://docs/secret%2Fkey",
      "demo://docs/secret%2fkey",
      "demo://docs/secret%5Ckey",
      "demo://docs/%zz",
      "demo://docs/secret/key%",
      "demo://docs/secret/key%0",
      "demo://docs/secret/key%00",
      "demo://docs/secret/key\u0000",
      "demo://docs/secret/key%0A",
      "demo://docs/secret/key\n",
      "demo://docs/secret\u0085/key",
      "demo://docs/secret\\key",
      "demo://admin@docs/secret/key",
      "demo://do%63s/secret/key%2F",
      "demo://docs/public/%252e%252e/secret/key",
      "demo://docs/public/%C0%AE%C0%AE/secret/key",
      "docs/secret/key",
      "",
      "demo://docs/" + "a".repeat(9000),
    ];
    for (const uri of bad) {
      const r = await s.client.readResource({ uri }).then(
        (x: unknown) => JSON.stringify(x),
        (e: Error) => e.message,
      );
      assert(!r.includes("SECRET"), `${JSON.stringify(uri)} leaked: ${r}`);
      assertMatch(r, /Warden denied resource .*cannot be normalized/s, JSON.stringify(uri));
    }
    await settled(s);
    assertEquals(received(s, "resources/read"), [], "nothing unnormalizable reached the server");
    const reads = s.host.audit.recent.filter((e) => e.action === "mcp.resource.read");
    assertEquals(reads.length, bad.length);
    assert(reads.every((e) => e.effect === "deny" && /cannot be normalized/.test(e.reason ?? "")));
  } finally {
    await s.close();
  }
});

Deno.test("class 15: completion/complete is decided against the prompt or template it completes", async () => {
  const s = await session({ module: DOCS }, { policy: policyOf(LITERAL) });
  try {
    const complete = (ref: Record<string, string>) =>
      s.client.complete({ ref, argument: { name: "x", value: "" } } as never).then(
        (r: { completion: { values: string[] } }) => r.completion.values.join(","),
        (e: Error) => e.message,
      );
    // The hidden, denied prompt gets nothing, and the server is never asked.
    const hidden = await complete({ type: "ref/prompt", name: "hidden_prompt" });
    assert(!hidden.includes("COMPLETED"), hidden);
    assertMatch(hidden, /Warden denied prompt "hidden_prompt"/);
    const secret = await complete({ type: "ref/resource", uri: "demo://docs/secret/{name}" });
    assert(!secret.includes("COMPLETED"), secret);
    assertMatch(secret, /Warden denied resource template demo:\/\/docs\/secret\/\{name\}/);
    // What could be allowed is completed.
    assertEquals(await complete({ type: "ref/prompt", name: "brief" }), "COMPLETED-brief");
    assertEquals(
      await complete({ type: "ref/resource", uri: "demo://docs/public/{name}" }),
      "COMPLETED-demo://docs/public/{name}",
    );
    await settled(s);
    assertEquals(
      received(s, "completion/complete").map((p) => p.ref),
      [{ type: "ref/prompt", name: "brief" }, {
        type: "ref/resource",
        uri: "demo://docs/public/{name}",
      }],
    );
    const audited = s.host.audit.recent.filter((e) => e.method === "completion/complete");
    assertEquals(audited.map((e) => [e.action, e.resource, e.effect]), [
      ["mcp.prompt.get", "hidden_prompt", "deny"],
      ["mcp.resource.read", "demo://docs/secret/{name}", "deny"],
      ["mcp.prompt.get", "brief", "allow"],
      ["mcp.resource.read", "demo://docs/public/{name}", "allow"],
    ]);
  } finally {
    await s.close();
  }
});

Deno.test("class 15: listings show only resources and templates that could be allowed", async () => {
  const s = await session({ module: DOCS }, { policy: policyOf(LITERAL) });
  try {
    const t = await s.client.listResourceTemplates();
    assertEquals(t.resourceTemplates.map((x: { uriTemplate: string }) => x.uriTemplate), [
      "demo://docs/public/{name}",
      "file:///srv/{file}",
    ]);
    const r = await s.client.listResources();
    // Listed in the form that is decided (and forwarded) when read.
    assertEquals(r.resources.map((x: { uri: string }) => x.uri), ["demo://docs/public/a"]);
  } finally {
    await s.close();
  }
  const deny = await session({ module: DOCS }, { policy: policyOf(DENY_LIST) });
  try {
    const t = await deny.client.listResourceTemplates();
    // A deny of one secret does not hide the templates (other names could be read).
    assertEquals(t.resourceTemplates.length, 3);
    const r = await deny.client.listResources();
    assertEquals(r.resources.map((x: { uri: string }) => x.uri), [
      "demo://docs/public/a",
      "demo://docs/public/b",
    ]);
  } finally {
    await deny.close();
  }
  // An allow-list by prefix: a template is judged by its literal text.
  const prefix = await session({ module: DOCS }, { policy: policyOf(ALLOW_LIST) });
  try {
    const t = await prefix.client.listResourceTemplates();
    assertEquals(t.resourceTemplates.map((x: { uriTemplate: string }) => x.uriTemplate), [
      "demo://docs/public/{name}",
      "file:///srv/{file}", // file:///srv/public.txt is allowed by name
    ]);
    const refused = await prefix.client.complete({
      ref: { type: "ref/resource", uri: "demo://docs/secret/{name}" },
      argument: { name: "name", value: "" },
    }).then((r: unknown) => JSON.stringify(r), (e: Error) => e.message);
    assertMatch(refused, /Warden denied resource template demo:\/\/docs\/secret\/\{name\}/);
  } finally {
    await prefix.close();
  }
  const none = await session({ module: DOCS }, { policy: policyOf(HEAD) });
  try {
    assertEquals((await none.client.listResourceTemplates()).resourceTemplates, []);
    assertEquals((await none.client.listResources()).resources, []);
  } finally {
    await none.close();
  }
});

/** The content blocks of a tool result or a prompt, as [type, uri or text]. */
function blocks(
  items: { type: string; text?: string; uri?: string; resource?: { uri: string } }[],
) {
  return items.map((c) => [c.type, c.uri ?? c.resource?.uri ?? c.text]);
}

Deno.test("class 15: embedded resources and resource links in results are decided; denied ones become refusals", async () => {
  const s = await session({ module: DOCS }, { policy: policyOf(ALLOW_LIST) });
  try {
    const tool = await s.client.callTool({ name: "fetch_docs", arguments: {} });
    const want = [
      ["text", "two documents follow"],
      ["resource", "demo://docs/public/a"],
      [
        "text",
        "Warden denied resource demo://docs/secret/key: no rule matched; the policy default is deny",
      ],
      ["resource_link", "demo://docs/public/b"],
      [
        "text",
        "Warden denied resource demo://docs/secret/key: no rule matched; the policy default is deny",
      ],
      [
        "text",
        'Warden denied resource demo://docs/%zz: the URI cannot be normalized (fail closed): invalid percent-encoding "%zz"',
      ],
    ];
    assertEquals(blocks(tool.content as never), want);
    assert(!JSON.stringify(tool).includes("SECRET"), "no secret in the tool result");

    const prompt = await s.client.getPrompt({ name: "brief" });
    assertEquals(blocks(prompt.messages.map((m: { content: never }) => m.content)), want);
    assert(!JSON.stringify(prompt).includes("SECRET"), "no secret in the prompt");

    // One read that returns several documents: each is decided.
    const bundle = await s.client.readResource({ uri: "demo://docs/public/bundle" });
    assertEquals(bundle.contents.map((c: { uri: string; text?: string }) => [c.uri, c.text]), [
      ["demo://docs/public/a", "public a"],
      [
        "demo://docs/secret/key",
        "Warden denied resource demo://docs/secret/key: no rule matched; the policy default is deny",
      ],
    ]);
    const embedded = s.host.audit.recent.filter((e) =>
      e.action === "mcp.resource.read" && e.method !== "resources/read"
    );
    assertEquals(embedded.map((e) => [e.method, e.resource, e.effect]), [
      ["tools/call", "demo://docs/public/a", "allow"],
      ["tools/call", "demo://docs/secret/key", "deny"],
      ["tools/call", "demo://docs/public/b", "allow"],
      ["tools/call", "demo://docs/secret/key", "deny"],
      ["tools/call", "demo://docs/%zz", "deny"],
      ["prompts/get", "demo://docs/public/a", "allow"],
      ["prompts/get", "demo://docs/secret/key", "deny"],
      ["prompts/get", "demo://docs/public/b", "allow"],
      ["prompts/get", "demo://docs/secret/key", "deny"],
      ["prompts/get", "demo://docs/%zz", "deny"],
      ["resources/read (contents)", "demo://docs/public/a", "allow"],
      ["resources/read (contents)", "demo://docs/secret/key", "deny"],
    ]);
  } finally {
    await s.close();
  }
});

Deno.test("class 15: a method the gateway does not govern fails closed and never reaches the server", async () => {
  const s = await session({ module: DOCS }, { policy: policyOf(DENY_LIST) });
  try {
    const methods = [
      "resources/subscribe",
      "resources/unsubscribe",
      "tasks/list",
      "tasks/get",
      "tasks/result",
      "tasks/cancel",
      "sampling/createMessage",
      "roots/list",
      "elicitation/create",
      "notes/secret",
      "__proto__",
      "tools/call/",
      "Tools/Call",
    ];
    for (const method of methods) {
      const err = await assertRejects(() =>
        s.client.request(
          { method, params: { uri: "demo://docs/secret/key", taskId: "t1" } } as never,
          EmptyResultSchema,
        )
      );
      assertMatch(err.message, /Warden denied method /, method);
    }
    // Notifications the gateway does not forward are dropped.
    const t = s.client.transport!;
    for (
      const method of ["notifications/roots/list_changed", "notifications/x", "resources/read"]
    ) {
      await t.send({ jsonrpc: "2.0", method, params: { uri: "demo://docs/secret/key" } });
    }
    await settled(s);
    const got = s.notices.filter((n) => n.startsWith("docs: got "))
      .map((n) => n.split(" ")[2]);
    assertEquals(
      got.filter((m) => !["initialize", "notifications/initialized", "tools/list"].includes(m)),
      [],
      "only what the gateway sent itself reached the server",
    );
    const refused = s.host.audit.recent.filter((e) => e.action === "mcp.method");
    assertEquals(refused.map((e) => [e.resource, e.effect]), methods.map((m) => [m, "deny"]));
  } finally {
    await s.close();
  }
});

Deno.test("class 15: only the decided fields of a request reach the server", async () => {
  const s = await session({ module: DOCS }, { policy: policyOf(DENY_LIST) });
  try {
    const smuggled = { _meta: { secret: "x" }, extra: "y" };
    await s.client.request(
      { method: "tools/call", params: { name: "fetch_docs", arguments: {}, ...smuggled } },
      CallToolResultSchema,
    );
    await s.client.request(
      { method: "resources/read", params: { uri: "DEMO://docs/public/a", ...smuggled } },
      ReadResourceResultSchema,
    );
    await s.client.request(
      { method: "prompts/get", params: { name: "brief", ...smuggled } },
      GetPromptResultSchema,
    );
    await settled(s);
    assertEquals(received(s, "tools/call"), [{ name: "fetch_docs", arguments: {} }]);
    assertEquals(received(s, "resources/read"), [{ uri: "demo://docs/public/a" }]);
    assertEquals(received(s, "prompts/get"), [{ name: "brief" }]);
  } finally {
    await s.close();
  }
});

Deno.test("class 15: every client-to-server method of the MCP SDK has a governed disposition", () => {
  const literal = (
    o: unknown,
  ) => ((o as { shape: { method: { value: string } } }).shape.method.value);
  const requests = (ClientRequestSchema as unknown as { options: unknown[] }).options.map(literal);
  const notes = (ClientNotificationSchema as unknown as { options: unknown[] }).options.map(
    literal,
  );
  for (const m of [...requests, ...notes]) {
    assert(Object.hasOwn(GOVERNED_METHODS, m), `${m} has no disposition in runtime/mcp/methods.ts`);
  }
  // Nothing is forwarded undecided.
  for (const [m, d] of Object.entries(GOVERNED_METHODS)) {
    assert(d.how.length > 0, `${m}: say how it is governed`);
  }
});
