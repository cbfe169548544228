/**
 * Output rules on MCP tool results coming back through the gateway: a credential a governed
 * server returns reaches the client redacted (audited as output.check by hash), and a result a
 * deny rule matches is replaced by an error result naming the rule.
 */
import { assert, assertEquals, assertMatch } from "../policy/asserts.ts";
import { sha256Hex } from "../../governance/audit/sha256.ts";
import { loadPolicy } from "../../runtime/policy/loader.ts";
import { join } from "node:path";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { attachOutputRules, compileOutputRules } from "../../governance/outputs/mod.ts";
import { compilePolicySet } from "../../governance/mod.ts";
import { BUILTIN_POLICY } from "../../runtime/policy/loader.ts";
import { NOTES, POLICY, SERVERS, session, text } from "../mcp/helpers.ts";

const TOKEN = "xoxb-" + "20242024-a1b2c3d4e5f6";

Deno.test("an MCP tool result carrying a credential reaches the client redacted", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/mcp.yaml`;
  await Deno.writeTextFile(
    file,
    Deno.readTextFileSync(POLICY) +
      "outputs:\n  dlp:\n    - id: no-tokens\n      builtin: tokens\n      effect: redact\n" +
      "      on: [mcp.result]\n    - id: no-codename\n      pattern: 'project-zeus'\n" +
      "      effect: deny\n      on: [mcp.result]\n",
  );
  const s = await session({ module: NOTES }, { policy: loadPolicy([file], { builtin: true }) });
  try {
    await s.client.callTool({ name: "add_note", arguments: { text: `slack ${TOKEN}` } });
    const listed = await s.client.callTool({ name: "list_notes" });
    assertEquals(text(listed), '["slack [redacted:no-tokens]"]');
    const check = s.host.audit.recent.find((e) => e.action === "output.check")!;
    assertEquals([check.resource, check.rule, check.path], [
      "mcp.result:list_notes",
      "no-tokens",
      "mcp",
    ]);
    const f = (check as unknown as { findings: { sha256: string }[] }).findings[0];
    assertEquals(f.sha256, sha256Hex(TOKEN));
    assert(!JSON.stringify(s.host.audit.recent).includes(TOKEN.slice(5)));

    await s.client.callTool({ name: "add_note", arguments: { text: "about project-zeus" } });
    const denied = await s.client.callTool({ name: "list_notes" });
    assertEquals(denied.isError, true);
    assertMatch(text(denied), /^Warden withheld the result \(output rules\).*"no-codename"/);
    assert(!text(denied).includes("project-zeus"));
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a task's result (tasks/result) is redacted like a tools/call result", async () => {
  const yaml = "apiVersion: warden/v1\nkind: Policy\nname: t\ndefault: deny\nrules:\n" +
    "  - { id: tools, effect: allow, action: tool.call }\noutputs:\n  dlp:\n" +
    "    - { id: no-tokens, builtin: tokens, effect: redact, on: [mcp.result] }\n";
  const sources = [
    { path: BUILTIN_POLICY, text: Deno.readTextFileSync(BUILTIN_POLICY) },
    { path: "t.yaml", text: yaml },
  ];
  const policy = attachOutputRules(compilePolicySet(sources), compileOutputRules(sources));
  const s = await session({ module: join(SERVERS, "tasks.ts") }, { policy });
  try {
    const stream = s.client.experimental.tasks.callToolStream(
      { name: "work", arguments: { text: TOKEN } },
      CallToolResultSchema,
      { task: { ttl: 60_000 } },
    );
    let result: unknown;
    for await (const m of stream) if (m.type === "result") result = m.result;
    assertEquals(text(result), "worked on [redacted:no-tokens]");
    const checks = s.host.audit.recent.filter((e) => e.action === "output.check");
    assertEquals(checks.map((e) => e.resource), ["mcp.result:(task)"]);
  } finally {
    await s.close();
  }
});
