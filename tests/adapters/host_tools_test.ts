/**
 * Framework tools run host-side (runtime/adapters/host_tools.ts, `deno task run --host-tools`):
 * each framework's tool shape registered with its own schema as the validator, and the
 * host-mode example end to end — the agent gets results and refusals, never the host's key.
 */
import { tool as lcTool } from "@langchain/core/tools";
import { tool as oaTool } from "@openai/agents-core";
import { jsonSchema, tool as aiTool } from "ai";
import { z } from "zod";
import { registerHostTools } from "../../runtime/adapters/host_tools.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { runDeno } from "../cli/run.ts";
import { assert, assertEquals, assertMatch } from "../policy/asserts.ts";
import { EXAMPLE_POLICY } from "./helpers.ts";

const ctx = () => ({
  agentId: "a",
  agentName: "a",
  workspace: "/tmp",
  signal: new AbortController().signal,
});

Deno.test("host tools: each framework's tool is registered with its own schema", async () => {
  const reg = new ToolRegistry();
  const names = registerHostTools(reg, {
    add: aiTool({
      description: "add",
      inputSchema: z.object({ a: z.number(), b: z.number() }),
      execute: ({ a, b }: { a: number; b: number }) => a + b,
    }),
    shout: aiTool({
      description: "shout (JSON Schema input)",
      inputSchema: jsonSchema<{ text: string }>({
        type: "object",
        properties: { text: { type: "string" } },
        required: ["text"],
        additionalProperties: false,
      }),
      execute: ({ text }: { text: string }) => text.toUpperCase(),
    }),
    greet: lcTool(({ who }: { who: string }) => `hello ${who}`, {
      name: "greet",
      description: "greet",
      schema: z.object({ who: z.string() }),
    }),
    count: oaTool({
      name: "count",
      description: "count",
      parameters: z.object({ text: z.string() }),
      execute: ({ text }: { text: string }) => String(text.length),
    }),
  });
  assertEquals(names, ["add", "shout", "greet", "count"]);
  const run = async (name: string, args: unknown) => {
    const v = reg.validate(name, args);
    if (!v.ok) return `invalid: ${v.error}`;
    return await reg.get(name)!.run(v.args, ctx());
  };
  assertEquals(await run("add", { a: 2, b: 3 }), 5);
  assertEquals(await run("shout", { text: "hi" }), "HI");
  assertEquals(await run("greet", { who: "ada" }), "hello ada");
  assertEquals(await run("count", { text: "four" }), "4");
  // Every schema validates before anything runs.
  assertMatch(String(await run("add", { a: "2", b: 3 })), /^invalid: .*a/);
  assertMatch(String(await run("shout", { text: "hi", extra: 1 })), /^invalid:/);
  assertMatch(String(await run("greet", {})), /^invalid: .*who/);
  assertMatch(String(await run("count", { text: 4 })), /^invalid: .*text/);
});

Deno.test("host tools: what cannot be validated or named is refused with one line", () => {
  const cases: [unknown, RegExp][] = [
    [{ x: { execute: () => 1 } }, /"x": no input schema Warden can validate arguments with/],
    [{ x: 42 }, /x: not a tool/],
    [
      { other: lcTool(() => "", { name: "greet", schema: z.object({}) }) },
      /"other" holds a tool named "greet"/,
    ],
    ["nope", /expected a ToolSet record or a list of tools/],
  ];
  for (const [exported, want] of cases) {
    let msg = "";
    try {
      registerHostTools(new ToolRegistry(), exported);
    } catch (e) {
      msg = (e as Error).message;
    }
    assertMatch(msg, want);
  }
});

Deno.test("host-mode example: host-side framework tools answer, a bulk export is refused, the key stays home", async () => {
  const r = await runDeno([
    "task",
    "-q",
    "run",
    "examples/adapters/host_side_agent.ts",
    "--bundle",
    "--policy",
    EXAMPLE_POLICY,
    "--host-tools",
    "examples/adapters/crm_tools.ts",
    "--json",
  ]);
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const out = lines.find((l) => l.event?.type === "output")?.event.output as {
    seen: { tool: string; output: string; error: boolean }[];
  };
  assert(out, r.stderr);
  assertEquals(out.seen.map((s) => [s.tool, s.error]), [
    ["crm_lookup", false],
    ["crm_notes", false],
    ["crm_export", true],
  ]);
  assertMatch(out.seen[0].output, /"Acme Corp"/);
  assertMatch(out.seen[2].output, /Warden denied tool "crm_export" \(rule no-bulk-export\)/);
  const calls = lines.filter((l) => l.decision?.action === "tool.call").map((l) => l.decision);
  assertEquals(calls.map((d) => [d.resource, d.effect, d.execution ?? "host"]), [
    ["crm_lookup", "allow", "host"],
    ["crm_notes", "allow", "host"],
    ["crm_export", "deny", "host"],
  ]);
  assert(!(r.stdout + r.stderr).includes("crm-demo-key"), "the host's API key never shows");
});
