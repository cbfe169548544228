/**
 * The MCP gateway with the repository's notes server (official SDK) and a hostile server,
 * driven in memory by the SDK's own client: every tools/call decided and audited before the
 * server sees it, denials as tool errors the model can read, never-allowed tools hidden,
 * raw operations of the server still stopped by the broker, bad server output contained.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../policy/asserts.ts";
import { join } from "node:path";
import { payloadHash } from "../../governance/identity/mod.ts";
import { NOTES, policyOf, SERVERS, session, testPolicy, text } from "./helpers.ts";

const HOSTILE = join(SERVERS, "hostile.ts");
const HOSTILE_POLICY = `apiVersion: warden/v1
kind: Policy
name: hostile
default: deny
rules:
  - { id: tools, effect: allow, action: tool.call }
`;

Deno.test("tools/list hides the tools the policy never allows; --show-all lists them", async () => {
  const s = await session({ module: NOTES });
  try {
    const names = (await s.client.listTools()).tools.map((t: { name: string }) => t.name).sort();
    assertEquals(names, ["add_note", "export_notes", "list_notes", "read_file"]);
    assert(s.notices.some((n) => n.includes("delete_notes")), "the hidden tool is reported");
  } finally {
    await s.close();
  }
  const all = await session({ module: NOTES }, { hide: false });
  try {
    const names = (await all.client.listTools()).tools.map((t: { name: string }) => t.name).sort();
    assertEquals(names, ["add_note", "delete_notes", "export_notes", "list_notes", "read_file"]);
  } finally {
    await all.close();
  }
});

Deno.test("every tools/call is decided with its arguments and audited; denials are tool errors", async () => {
  const s = await session({ module: NOTES });
  try {
    const ok = await s.client.callTool({ name: "add_note", arguments: { text: "buy milk" } });
    assertEquals(ok.isError, undefined);
    assertEquals(text(ok), "added note 1");

    const secret = await s.client.callTool({
      name: "add_note",
      arguments: { text: "db password = hunter2" },
    });
    assertEquals(secret.isError, true);
    assertMatch(text(secret), /^Warden denied tool "add_note" \(rule no-secrets-in-notes\)/);

    // Hidden, and called anyway: still decided, still denied, never reaches the server.
    const del = await s.client.callTool({ name: "delete_notes", arguments: {} });
    assertEquals(del.isError, true);
    assertMatch(text(del), /rule no-delete/);
    assertEquals(text(await s.client.callTool({ name: "list_notes" })), '["buy milk"]');

    const calls = s.host.audit.recent.filter((e) => e.path === "mcp");
    assertEquals(
      calls.map((e) => [e.action, e.resource, e.effect, e.rule]),
      [
        ["tool.call", "add_note", "allow", "notes-add"],
        ["tool.call", "add_note", "deny", "no-secrets-in-notes"],
        ["tool.call", "delete_notes", "deny", "no-delete"],
        ["tool.call", "list_notes", "allow", "notes-read"],
      ],
    );
    assertEquals(calls.every((e) => e.agent.name === "notes" && e.agent.ring === 2), true);
    // The arguments decided are in the log as a digest, not as values.
    assertEquals(calls[1].argsSha256, payloadHash({ text: "db password = hunter2" }));
    assert(!JSON.stringify(calls).includes("hunter2"), "argument values stay out of the log");
  } finally {
    await s.close();
  }
});

Deno.test("bypass strings for a denied tool never reach its implementation", async () => {
  // Allow every tool except delete_notes: variants of the name must not delete anything.
  const policy = policyOf(`apiVersion: warden/v1
kind: Policy
name: open
default: deny
rules:
  - { id: files, effect: allow, action: [fs.read, fs.write], when: { path: { within: ["\${workspace}"] } } }
  - { id: any-tool, effect: allow, action: tool.call }
  - { id: no-delete, effect: deny, action: tool.call, resource: delete_notes }
`);
  const s = await session({ module: NOTES }, { policy });
  try {
    await s.client.callTool({ name: "add_note", arguments: { text: "keep me" } });
    const variants = [
      "delete_notes",
      "delete_notes ",
      "Delete_Notes",
      "DELETE_NOTES",
      "delete\u200bnotes",
      "ｄelete_notes",
      "delete_notes\u0000",
      "delete_note\u0301s",
    ];
    for (const name of variants) {
      const r = await s.client.callTool({ name, arguments: {} }).catch((e: unknown) => ({
        isError: true,
        content: [{ type: "text", text: String(e) }],
      }));
      assertEquals(r.isError, true, `variant ${JSON.stringify(name)} must fail`);
    }
    assertEquals(text(await s.client.callTool({ name: "list_notes" })), '["keep me"]');
  } finally {
    await s.close();
  }
});

Deno.test("an allowed tool's raw file access outside the workspace is stopped by the broker", async () => {
  const s = await session({ module: NOTES });
  try {
    const r = await s.client.callTool({ name: "read_file", arguments: { path: "/etc/passwd" } });
    assertEquals(r.isError, true);
    assertMatch(text(r), /NotCapable: Warden denied fs\.read \/etc\/passwd/);
    assert(!text(r).includes("root:"), "no file content leaks");
    const raw = s.host.audit.recent.find((e) =>
      e.path === "broker" && e.action === "fs.read" && e.resource === "/etc/passwd"
    );
    assertEquals(raw?.effect, "deny");
  } finally {
    await s.close();
  }
});

Deno.test("resources/read is governed as mcp.resource.read", async () => {
  const s = await session({ module: NOTES });
  try {
    await s.client.callTool({ name: "add_note", arguments: { text: "one" } });
    const r = await s.client.readResource({ uri: "notes://count" });
    assertEquals((r.contents[0] as { text: string }).text, "1");
    // Another spelling of the allowed URI is decided, and served, as the one the rule names
    // (the official SDK server matches URIs exactly: it gets the normalized form).
    const again = await s.client.readResource({ uri: "NOTES://COUNT#top" });
    assertEquals(again.contents.map((c: { uri: string; text?: string }) => [c.uri, c.text]), [
      ["notes://count", "1"],
    ]);
    await assertRejects(
      () => s.client.readResource({ uri: "notes://other" }),
      Error,
      "Warden denied resource notes://other",
    );
  } finally {
    await s.close();
  }
});

Deno.test("a policy that cannot decide fails closed: the call is denied and audited", async () => {
  const policy = testPolicy();
  // The engine breaks on tool calls only (the server must still load its code).
  const broken = Object.create(policy, {
    evaluate: {
      value: (req: { action: string }) => {
        if (req.action === "tool.call") throw new Error("engine exploded");
        return policy.evaluate(req);
      },
    },
  });
  const s = await session({ module: NOTES }, { policy: broken });
  try {
    const r = await s.client.callTool({ name: "list_notes", arguments: {} });
    assertEquals(r.isError, true);
    assertMatch(text(r), /internal error while deciding \(fail closed\): engine exploded/);
    const e = s.host.audit.recent.find((x) => x.path === "mcp" && x.action === "tool.call");
    assertEquals(e?.effect, "deny");
  } finally {
    await s.close();
  }
});

Deno.test("garbage on the server's stdout is dropped; an endless line kills the server", async () => {
  const policy = policyOf(HOSTILE_POLICY);
  const s = await session({ module: HOSTILE }, { policy, limits: { maxLineBytes: 1 << 20 } });
  try {
    // The handshake survived three bad lines.
    assert(s.notices.some((n) => n.includes("not JSON-RPC")), s.notices.join("\n"));
    assertEquals((await s.client.listTools()).tools.map((t: { name: string }) => t.name), [
      "flood",
      "hang",
      "babble",
      "sample",
    ]);
    await assertRejects(() => s.client.callTool({ name: "flood", arguments: {} }));
    const exit = await s.gw.handle.exited;
    assertEquals(exit.code, 137);
    assertMatch(exit.killed ?? "", /MCP protocol violation: a line longer than 1048576 bytes/);
  } finally {
    await s.close();
  }
});

Deno.test("a server killed mid-call ends the call with an error, not a hang", async () => {
  const policy = policyOf(HOSTILE_POLICY);
  const s = await session({ module: HOSTILE }, { policy });
  try {
    const call = s.client.callTool({ name: "hang", arguments: {} }).then(
      () => null,
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 100));
    await s.gw.handle.kill("operator kill switch");
    const err = await call;
    assert(err instanceof Error, "the pending call fails");
    assertMatch(err.message, /Connection closed/);
    const kill = s.host.audit.recent.find((e) => e.action === "agent.kill");
    assertMatch(kill?.reason ?? "", /operator kill switch/);
  } finally {
    await s.close();
  }
});

Deno.test("prompts: listing hides the never-allowed one; prompts/get is decided with its arguments", async () => {
  const s = await session({ module: NOTES });
  try {
    const listed = (await s.client.listPrompts()).prompts.map((p: { name: string }) => p.name);
    assertEquals(listed, ["summarize"]);
    await s.client.callTool({ name: "add_note", arguments: { text: "ship it" } });
    const ok = await s.client.getPrompt({ name: "summarize", arguments: { style: "terse" } });
    assertMatch(JSON.stringify(ok.messages), /Summarize in a terse style: ship it/);
    await assertRejects(
      () => s.client.getPrompt({ name: "summarize", arguments: { style: "shouting" } }),
      Error,
      'Warden denied prompt "summarize" (rule no-shouting)',
    );
    await assertRejects(
      () => s.client.getPrompt({ name: "leak_prompt" }),
      Error,
      'Warden denied prompt "leak_prompt"',
    );
    const gets = s.host.audit.recent.filter((e) => e.action === "mcp.prompt.get");
    assertEquals(gets.map((e) => [e.resource, e.effect]), [
      ["summarize", "allow"],
      ["summarize", "deny"],
      ["leak_prompt", "deny"],
    ]);
  } finally {
    await s.close();
  }
});

Deno.test("progress reported by the server reaches the client through the gateway", async () => {
  const s = await session({ module: NOTES });
  try {
    for (const t of ["a", "b", "c"]) {
      await s.client.callTool({ name: "add_note", arguments: { text: t } });
    }
    const seen: number[] = [];
    const r = await s.client.callTool({ name: "export_notes", arguments: {} }, undefined, {
      onprogress: (p: { progress: number }) => seen.push(p.progress),
    });
    assertEquals(text(r), "a\nb\nc");
    assertEquals(seen, [1, 2, 3], s.notices.join("\n"));
  } finally {
    await s.close();
  }
});

Deno.test("a client's cancellation reaches the governed server", async () => {
  const s = await session({ module: HOSTILE }, { policy: policyOf(HOSTILE_POLICY) });
  try {
    const ctl = new AbortController();
    const call = s.client.callTool({ name: "hang", arguments: {} }, undefined, {
      signal: ctl.signal,
    }).then(() => null, (e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    ctl.abort("the user gave up");
    assert((await call) instanceof Error, "the cancelled call fails");
    for (let i = 0; i < 50 && !s.notices.some((n) => n.includes("cancelled request")); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert(s.notices.some((n) => /hostile: cancelled request \d+/.test(n)), s.notices.join("\n"));
  } finally {
    await s.close();
  }
});

Deno.test("the server sees its own arguments only, in Deno.args and process.argv", async () => {
  const s = await session({ module: HOSTILE, args: ["stdio", "--flag=x"] }, {
    policy: policyOf(HOSTILE_POLICY),
  });
  try {
    await s.client.listTools();
    const line = s.notices.find((n) => n.startsWith("hostile: argv "));
    assertEquals(line, 'hostile: argv ["stdio","--flag=x"] args ["stdio","--flag=x"]');
  } finally {
    await s.close();
  }
});

Deno.test("a flood of lines that are not JSON-RPC is a protocol violation: the server is killed", async () => {
  const s = await session({ module: HOSTILE }, { policy: policyOf(HOSTILE_POLICY) });
  try {
    await assertRejects(() => s.client.callTool({ name: "babble", arguments: {} }));
    const exit = await s.gw.handle.exited;
    assertEquals(exit.code, 137);
    assertMatch(exit.killed ?? "", /MCP protocol violation: more than 100 malformed lines/);
  } finally {
    await s.close();
  }
});

Deno.test("require_approval: held without a handler, performed once a handler approves", async () => {
  const policy = policyOf(`apiVersion: warden/v1
kind: Policy
name: ask
default: deny
rules:
  - { id: files, effect: allow, action: [fs.read, fs.write], when: { path: { within: ["\${workspace}"] } } }
  - { id: ask-first, effect: require_approval, action: tool.call, resource: add_note, reason: a human reads notes first }
  - { id: list, effect: allow, action: tool.call, resource: list_notes }
`);
  const held = await session({ module: NOTES }, { policy });
  try {
    const r = await held.client.callTool({ name: "add_note", arguments: { text: "x" } });
    assertEquals(r.isError, true);
    assertEquals(
      text(r),
      'Warden held tool "add_note" for human approval (rule ask-first); it did not run: ' +
        "a human reads notes first",
    );
    assertEquals(text(await held.client.callTool({ name: "list_notes" })), "[]");
  } finally {
    await held.close();
  }
  const seen: string[] = [];
  const ok = await session({ module: NOTES }, {
    policy,
    approvals: (_agent, request) => {
      seen.push(String(request.resource));
      return Promise.resolve("approved");
    },
  });
  try {
    const r = await ok.client.callTool({ name: "add_note", arguments: { text: "x" } });
    assertEquals(text(r), "added note 1");
    assertEquals(seen, ["add_note"]);
  } finally {
    await ok.close();
  }
});

Deno.test("a governed server cannot drive the client's model: sampling is refused at the gateway", async () => {
  const s = await session({ module: HOSTILE }, { policy: policyOf(HOSTILE_POLICY) });
  try {
    const r = await s.client.callTool({ name: "sample", arguments: {} });
    // The server's request was answered by the gateway's client: no such method there.
    assertMatch(text(r), /"code":-32601/);
  } finally {
    await s.close();
  }
});
