/** The Vercel AI SDK adapter: fail closed outside a host, and the example under a real host. */
import { join } from "node:path";
import { generateText, stepCountIs, tool } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { z } from "zod";
import { verifyChain } from "../../governance/audit/mod.ts";
import { wardenTool, wardenTools } from "../../sdk/adapters/ai_sdk.ts";
import { WardenToolError } from "../../sdk/adapters/gate.ts";
import { runDeno } from "../cli/run.ts";
import { assert, assertEquals } from "../policy/asserts.ts";
import { assertScenario, EXAMPLE_POLICY, EXAMPLES, withRun } from "./helpers.ts";

const usage = {
  inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 0, text: 0, reasoning: 0 },
};

Deno.test("ai-sdk: outside a host the local execute never runs and the model reads the error", async () => {
  let ran = 0;
  const prompts: unknown[] = [];
  const model = new MockLanguageModelV4({
    doGenerate: (o) => {
      prompts.push(o.prompt);
      return Promise.resolve(
        prompts.length === 1
          ? {
            content: [{
              type: "tool-call",
              toolCallId: "c1",
              toolName: "wipe",
              input: '{"all":true}',
            }],
            finishReason: { unified: "tool-calls", raw: undefined },
            usage,
            warnings: [],
          }
          : {
            content: [{ type: "text", text: "ok" }],
            finishReason: { unified: "stop", raw: undefined },
            usage,
            warnings: [],
          },
      );
    },
  });
  const tools = wardenTools({
    wipe: tool({
      description: "wipe",
      inputSchema: z.object({ all: z.boolean() }),
      execute: () => {
        ran++;
        return "wiped";
      },
    }),
  });
  const r = await generateText({ model, prompt: "go", tools, stopWhen: stepCountIs(3) });
  assertEquals(ran, 0);
  const toolMsg = (prompts[1] as { role: string; content: unknown[] }[]).find((m) =>
    m.role === "tool"
  );
  const result = toolMsg?.content[0] as { toolName: string; output: unknown };
  assertEquals(result.toolName, "wipe");
  assertEquals(result.output, {
    type: "error-text",
    value: 'Warden could not run tool "wipe": not running under a Warden host (no SDK channel)',
  });
  const err = r.steps[0].content.find((p) => p.type === "tool-error");
  assert(err && err.error instanceof WardenToolError && err.error.code === "failed");
});

Deno.test("ai-sdk: streaming and host-mode tools are gated too; tools without execute stay as they are", async () => {
  let started = false;
  const streaming = wardenTool(
    "stream",
    tool({
      inputSchema: z.object({}),
      async *execute() {
        started = true;
        yield "partial";
      },
    }),
  );
  const it = streaming.execute!({}, { toolCallId: "c", messages: [], context: {} });
  const iter = it as AsyncIterable<unknown>;
  let error: unknown;
  try {
    for await (const _ of iter) { /* nothing may arrive */ }
  } catch (e) {
    error = e;
  }
  assert(error instanceof WardenToolError && !started, String(error));

  let local = 0;
  const hosted = wardenTool(
    "search",
    tool({ inputSchema: z.object({ query: z.string() }), execute: () => local++ }),
    { mode: "host", name: "search" },
  );
  const out = hosted.execute!({ query: "x" }, { toolCallId: "c", messages: [], context: {} });
  await (out as Promise<unknown>).then(() => {}, (e) => (error = e));
  assert(error instanceof WardenToolError && local === 0);

  const clientSide = tool({ inputSchema: z.object({}), outputSchema: z.string() });
  assertEquals(wardenTool("ask", clientSide), clientSide);
});

Deno.test("ai-sdk example: allowed tools run and reach the model, the denied one does not run", async () => {
  await withRun(
    { module: join(EXAMPLES, "ai_sdk_agent.ts") },
    (run) => assertScenario(run, "ai-sdk"),
  );
});

Deno.test("ai-sdk example: the documented command runs it and writes a verifiable audit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const audit = join(dir, "audit.jsonl");
    const r = await runDeno([
      "task",
      "-q",
      "run",
      "examples/adapters/ai_sdk_agent.ts",
      "--bundle",
      "--policy",
      EXAMPLE_POLICY,
      "--audit",
      audit,
    ]);
    assertEquals(r.code, 0, r.stderr);
    const denied =
      'warden: DENY  ai_sdk_agent tool.call send_email — denied by rule "no-external-email"';
    assert(r.stderr.includes(denied), r.stderr);
    assert(
      r.stderr.includes('Warden denied tool \\"send_email\\" (rule no-external-email)'),
      r.stderr,
    );
    const entries = (await Deno.readTextFile(audit)).trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(verifyChain(entries).bad, -1);
    const calls = entries.filter((e) => e.action === "tool.call").map((
      e,
    ) => [e.resource, e.effect]);
    assertEquals(calls, [["write_note", "allow"], ["search", "allow"], ["send_email", "deny"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
