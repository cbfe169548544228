/**
 * Issue 19 item 3: the gateway forwards the whole MCP protocol, governed. Driven by the SDK's
 * own client against an SDK server (tests/mcp/servers/reverse.ts): client capabilities and the
 * server's title and instructions pass through; the server's sampling, elicitation and roots
 * requests are decided (mcp.sampling, mcp.elicitation, mcp.roots) and audited, refused ones
 * never reach the client, a flood of them is bounded; subscriptions are decided like reads
 * and updates reach the client only for subscribed URIs it may still read; errors keep one
 * prefix; the request timeout is reset by progress.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../policy/asserts.ts";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  type CreateMessageRequest,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  type ResourceUpdatedNotification,
  ResourceUpdatedNotificationSchema,
  ServerNotificationSchema,
  ServerRequestSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { policyOf, SERVERS, type Session, session, text } from "./helpers.ts";
import { MAX_SERVER_REQUESTS } from "../../runtime/mcp/reverse.ts";
import { SERVER_METHODS } from "../../runtime/mcp/methods.ts";

const REVERSE = join(SERVERS, "reverse.ts");
const RULES = `apiVersion: warden/v1
kind: Policy
name: reverse
default: deny
rules:
  - { id: tools, effect: allow, action: tool.call }
  - { id: prompts, effect: allow, action: mcp.prompt.get }
  - { id: notes, effect: allow, action: mcp.resource.read, when: { resource: { prefix: "notes://" } } }
  - { id: sampling, effect: allow, action: mcp.sampling }
  - { id: no-big-sampling, effect: deny, action: mcp.sampling, when: { args.maxTokens: { gt: 1000 } } }
  - { id: roots, effect: allow, action: mcp.roots }
`;
const POLICY = policyOf(RULES);

type Notifier = {
  sendNotification: (n: { method: string; params: Record<string, unknown> }) => Promise<void>;
};

/** What the client side saw: requests it answered and notifications it got. */
interface Seen {
  sampled: string[];
  meta: unknown[];
  elicited: number;
  updated: string[];
  changed: string[];
  live: number;
  maxLive: number;
}

/** An SDK client that offers roots, sampling and elicitation, recording what reaches it. */
function fullClient(seen: Seen, sampleDelayMs = 0): Client {
  const c = new Client({ name: "full-client", version: "2.0.0" }, {
    capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: { form: {} } },
  });
  c.setRequestHandler(
    CreateMessageRequestSchema,
    async (req: CreateMessageRequest, extra: Notifier) => {
      seen.maxLive = Math.max(seen.maxLive, ++seen.live);
      const m = req.params.messages[0].content as { text?: string };
      seen.sampled.push(m.text ?? "");
      seen.meta.push(req.params._meta ?? null);
      const token = req.params._meta?.progressToken;
      if (token !== undefined) {
        for (const progress of [1, 2]) {
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken: token, progress },
          });
        }
        // The SDK on the server's side drops progress that arrives in the same read as the
        // response it precedes (it handles notifications a microtask later): answer later.
        await new Promise((r) => setTimeout(r, 200));
      }
      if (sampleDelayMs) await new Promise((r) => setTimeout(r, sampleDelayMs));
      seen.live--;
      return { role: "assistant", content: { type: "text", text: "model says hi" }, model: "m" };
    },
  );
  c.setRequestHandler(ElicitRequestSchema, () => {
    seen.elicited++;
    return { action: "accept", content: { answer: "yes" } };
  });
  c.setRequestHandler(ListRootsRequestSchema, () => ({
    roots: [{ uri: "file:///home/me/project", name: "project" }],
  }));
  c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n: ResourceUpdatedNotification) => {
    seen.updated.push(n.params.uri);
  });
  for (
    const [schema, name] of [
      [ResourceListChangedNotificationSchema, "resources"],
      [ToolListChangedNotificationSchema, "tools"],
      [PromptListChangedNotificationSchema, "prompts"],
    ] as const
  ) c.setNotificationHandler(schema, () => void seen.changed.push(name));
  return c;
}

function newSeen(): Seen {
  return { sampled: [], meta: [], elicited: 0, updated: [], changed: [], live: 0, maxLive: 0 };
}

/** A tool's JSON answer. */
async function call(s: Session, name: string, args: Record<string, unknown> = {}) {
  return JSON.parse(text(await s.client.callTool({ name, arguments: args })));
}

/** Wait until `cond` holds (generous deadline; no timing is asserted). */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  assert(cond(), `timed out waiting for ${what}`);
}

Deno.test("initialize: the client's capabilities reach the server; title and instructions reach the client", async () => {
  const s = await session({ module: REVERSE }, { policy: POLICY, client: fullClient(newSeen()) });
  try {
    const caps = await call(s, "client_caps");
    assertEquals(caps.roots, { listChanged: true });
    assert(caps.sampling, "sampling passed through");
    // The policy never allows mcp.elicitation: not declared to the server (client_caps_test.ts).
    assertEquals(caps.elicitation, undefined);
    const info = s.client.getServerVersion();
    assertEquals(
      [info?.name, info?.version, info?.title, info?.description, info?.websiteUrl],
      [
        "reverse",
        "1.2.3",
        "Reverse Test Server",
        "for the gateway's protocol tests",
        "https://example.org/reverse",
      ],
    );
    assertEquals(s.client.getInstructions(), "Ask before you sample.");
    assertEquals(s.client.getServerCapabilities()?.resources?.subscribe, true);
  } finally {
    await s.close();
  }
});

Deno.test("hostile server: sampling is decided as mcp.sampling with its arguments and audited", async () => {
  const seen = newSeen();
  const s = await session({ module: REVERSE }, { policy: POLICY, client: fullClient(seen) });
  try {
    const ok = await call(s, "ask_model", { prompt: "private prompt text" });
    assertEquals(ok.ok.content.text, "model says hi");
    const big = await call(s, "ask_model", { prompt: "write a novel", maxTokens: 50_000 });
    assertMatch(big.error, /Warden denied sampling .*rule no-big-sampling/);
    assert(!/MCP error -\d+: MCP error/.test(big.error), big.error);
    assertEquals(seen.sampled, ["private prompt text"], "the refused request never reached it");
    const audit = s.host.audit.recent.filter((e) => e.action === "mcp.sampling");
    assertEquals(audit.map((e) => [e.resource, e.effect, e.rule]), [
      ["reverse", "allow", "sampling"],
      ["reverse", "deny", "no-big-sampling"],
    ]);
    assert(audit.every((e) => typeof e.argsSha256 === "string"), "arguments digested");
    assert(!JSON.stringify(audit).includes("private prompt"), "argument values stay out");
  } finally {
    await s.close();
  }
});

Deno.test("progress the client reports on a forwarded sampling request reaches the server", async () => {
  const seen = newSeen();
  const s = await session({ module: REVERSE }, { policy: POLICY, client: fullClient(seen) });
  try {
    const r = await call(s, "ask_model_progress");
    assertEquals(r.ok.content.text, "model says hi");
    assertEquals(r.progress, [1, 2]);
    // The client sees the gateway's own token, not the server's _meta.
    assertEquals(Object.keys(seen.meta[0] as object), ["progressToken"]);
  } finally {
    await s.close();
  }
});

Deno.test("hostile server: a refused elicitation never reaches the client; roots are decided", async () => {
  const seen = newSeen();
  const s = await session({ module: REVERSE }, { policy: POLICY, client: fullClient(seen) });
  try {
    // The policy never allows elicitation: the gateway did not declare it to the server
    // (audited at the handshake), so the server's own SDK refuses to ask.
    const e = await call(s, "ask_user", { question: "your password?" });
    assertMatch(e.error, /does not support form elicitation/);
    assertEquals(seen.elicited, 0);
    const roots = await call(s, "list_roots");
    assertEquals(roots.ok.roots, [{ uri: "file:///home/me/project", name: "project" }]);
    const audit = s.host.audit.recent.filter((x) => x.action.startsWith("mcp."));
    assertEquals(audit.map((x) => [x.action, x.effect]), [
      ["mcp.elicitation", "deny"],
      ["mcp.roots", "allow"],
    ]);
    assertMatch(audit[0].reason, /did not declare the client's elicitation capability/);
  } finally {
    await s.close();
  }
  // With the policy's allow, the same request is forwarded.
  const allow = policyOf(RULES + "  - { id: ask, effect: allow, action: mcp.elicitation }\n");
  const seen2 = newSeen();
  const t = await session({ module: REVERSE }, { policy: allow, client: fullClient(seen2) });
  try {
    const e = await call(t, "ask_user", { question: "continue?" });
    assertEquals(e.ok, { action: "accept", content: { answer: "yes" } });
    assertEquals(seen2.elicited, 1);
  } finally {
    await t.close();
  }
});

Deno.test("hostile server: requests for what the client did not declare are refused and audited", async () => {
  const s = await session({ module: REVERSE }, { policy: POLICY });
  try {
    const r = await call(s, "ask_model", { prompt: "hi" });
    assertMatch(r.error, /the client did not declare sampling/);
    const roots = await call(s, "list_roots");
    assertMatch(roots.error, /the client did not declare roots/);
    const audit = s.host.audit.recent.filter((x) => x.action.startsWith("mcp."));
    assertEquals(audit.map((x) => [x.action, x.effect]), [
      ["mcp.sampling", "deny"],
      ["mcp.roots", "deny"],
    ]);
  } finally {
    await s.close();
  }
});

Deno.test("hostile server: a flood of sampling requests is bounded", async () => {
  const seen = newSeen();
  const s = await session({ module: REVERSE }, { policy: POLICY, client: fullClient(seen, 200) });
  try {
    const n = 120;
    const r = await call(s, "flood", { n });
    assertEquals(r.answered + r.refused.length, n);
    assert(r.refused.length > 0, "some were refused");
    assert(r.refused.every((m: string) => /pending/.test(m)), r.refused[0]);
    assert(seen.maxLive <= MAX_SERVER_REQUESTS, `at most ${MAX_SERVER_REQUESTS} at once`);
    const audit = s.host.audit.recent.filter((e) => e.action === "mcp.sampling");
    assertEquals(audit.filter((e) => e.effect === "allow").length, r.answered);
    assert(audit.length < n, "the refusals of a flood are not one audit record each");
    assert(audit.some((e) => e.effect === "deny"), "the flood is in the audit log");
  } finally {
    await s.close();
  }
});

Deno.test("roots/list_changed from a client that declared roots reaches the server", async () => {
  const s = await session({ module: REVERSE }, { policy: POLICY, client: fullClient(newSeen()) });
  try {
    await s.client.sendRootsListChanged();
    await until(() => s.notices.some((n) => n.includes("got notifications/roots")), "forward");
    assertEquals((await call(s, "state")).rootsChanged, 1);
  } finally {
    await s.close();
  }
});

Deno.test("subscriptions are decided like reads; updates only for subscribed, still readable URIs", async () => {
  const seen = newSeen();
  const s = await session({ module: REVERSE }, { policy: POLICY, client: fullClient(seen) });
  try {
    await s.client.subscribeResource({ uri: "NOTES://a" });
    await s.client.subscribeResource({ uri: "notes://b" });
    for (const uri of ["secret://key", "SECRET://key", "notes://%zz"]) {
      const err = await assertRejects(() => s.client.subscribeResource({ uri }));
      assertMatch(err.message, /Warden denied resource/);
    }
    // The server received the normalized form only, never a refused one.
    assertEquals((await call(s, "state")).subscribed, ["notes://a", "notes://b"]);
    const subs = s.host.audit.recent.filter((e) => e.action === "mcp.resource.read");
    assertEquals(subs.map((e) => [e.resource, e.effect]), [
      ["notes://a", "allow"],
      ["notes://b", "allow"],
      ["secret://key", "deny"],
      ["secret://key", "deny"],
      ["notes://%zz", "deny"],
    ]);

    // The server pushes updates for subscribed, unsubscribed and never-subscribed URIs.
    await call(s, "push", { uris: ["notes://a", "secret://key", "notes://c", "NOTES://b"] });
    await until(() => seen.changed.length === 3, "list changes");
    assertEquals(seen.changed.sort(), ["prompts", "resources", "tools"]);
    await until(() => seen.updated.length === 2, "updates");
    assertEquals(seen.updated, ["notes://a", "notes://b"]);

    // Unsubscribed: no more updates for it. Re-decided on delivery: a policy that no longer
    // allows notes://b stops its updates.
    await s.client.unsubscribeResource({ uri: "notes://a" });
    s.host.governor.setPolicy(policyOf(RULES.replace(
      '{ prefix: "notes://" }',
      '{ eq: "notes://a" }',
    )));
    seen.updated.length = 0;
    await call(s, "push", { uris: ["notes://a", "notes://b"] });
    await until(() => s.notices.some((n) => n.includes("update for notes://b")), "drop notice");
    await call(s, "state");
    assertEquals(seen.updated, []);
    const last = s.host.audit.recent.filter((e) => e.action === "mcp.resource.read").at(-1);
    assertEquals([last?.resource, last?.effect], ["notes://b", "deny"]);
  } finally {
    await s.close();
  }
});

Deno.test("a hostile client cannot subscribe without bound, also in a burst", async () => {
  const s = await session({ module: REVERSE }, { policy: POLICY, client: fullClient(newSeen()) });
  try {
    let refused = 0;
    const sub = (i: number) =>
      s.client.subscribeResource({ uri: `notes://n${i}` }).catch((e: Error) => {
        assertMatch(e.message, /too many subscriptions/);
        refused++;
      });
    for (let i = 0; i < 1000; i++) await sub(i);
    // A burst at once: the ones still being decided count against the limit.
    await Promise.all(Array.from({ length: 100 }, (_, i) => sub(1000 + i)));
    assertEquals(refused, 1100 - 1024);
    assertEquals((await call(s, "state")).subscribed.length, 1024);
  } finally {
    await s.close();
  }
});

Deno.test("forwarded errors carry one MCP error prefix, not two", async () => {
  const s = await session({ module: REVERSE }, { policy: POLICY });
  try {
    const missing = await assertRejects(() => s.client.readResource({ uri: "notes://zzz" }));
    assertMatch(missing.message, /^MCP error -32602: Resource notes:\/\/zzz not found$/);
    const denied = await assertRejects(() => s.client.readResource({ uri: "secret://key" }));
    assertMatch(denied.message, /^MCP error -32600: Warden denied resource secret:\/\/key/);
    for (const e of [missing, denied]) assert(!/MCP error.*MCP error/.test(e.message), e.message);
  } finally {
    await s.close();
  }
});

Deno.test("the request timeout is reset by the server's progress; a timeout has one prefix", async () => {
  const s = await session({ module: REVERSE }, { policy: POLICY, requestTimeoutMs: 1500 });
  try {
    // 12 steps of 150 ms: longer than the gateway's timeout, but progress keeps it alive (the
    // client's own timeout is long and reset by the same progress).
    const seen: number[] = [];
    const opts = {
      timeout: 120_000,
      resetTimeoutOnProgress: true,
      onprogress: (p: { progress: number }) => void seen.push(p.progress),
    };
    const done = await s.client.callTool(
      { name: "slow", arguments: { steps: 12, progress: true } },
      undefined,
      opts,
    );
    assertEquals(JSON.parse(text(done)), "done");
    assertEquals(seen.length, 12, "every progress notification reached the client");
    // No progress: the call ends at the gateway's timeout (at least 3 s of work, 1.5 s allowed).
    const err = await assertRejects(() =>
      s.client.callTool(
        { name: "slow", arguments: { steps: 20, progress: false } },
        undefined,
        opts,
      )
    );
    assertMatch(err.message, /^MCP error -32001: Request timed out$/);
  } finally {
    await s.close();
  }
});

Deno.test("every server-to-client method of the MCP SDK has a governed disposition", () => {
  const literal = (o: unknown) =>
    (o as { shape: { method: { value: string } } }).shape.method.value;
  const all = [ServerRequestSchema, ServerNotificationSchema].flatMap((u) =>
    (u as unknown as { options: unknown[] }).options.map(literal)
  );
  for (const m of all) {
    assert(Object.hasOwn(SERVER_METHODS, m), `${m} has no row in SERVER_METHODS`);
  }
  for (const [m, d] of Object.entries(SERVER_METHODS)) assert(d.how.length > 0, m);
});
