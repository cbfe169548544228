/**
 * SDK tool calls through the host's ToolRunner: a chaos fault scoped to an agent by name hits
 * that agent only, and a call refused by an open circuit breaker leaves one audit entry.
 */
import { z } from "zod";
import { assertEquals } from "../policy/asserts.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import type { AgentHost } from "../../runtime/host.ts";
import type { SreOptions } from "../../runtime/sre/service.ts";
import { toolHost, trippedAfterTwoFailures } from "./tool_host.ts";

const AGENT = new URL("./agents/five_calls.ts", import.meta.url).pathname;
const POLICY = `apiVersion: warden/v1
kind: Policy
name: t
rules:
  - { id: flaky, effect: allow, action: tool.call, resource: flaky }
`;

function newHost(sre: SreOptions, fails: boolean) {
  const tools = new ToolRegistry();
  tools.register("flaky", {
    description: "answers, or fails when asked to",
    schema: z.object({ n: z.number() }),
    run: () => {
      if (fails) throw new Error("backend down");
      return "fine";
    },
  });
  return toolHost(POLICY, tools, sre);
}

async function lines(host: AgentHost, name: string): Promise<string[]> {
  const h = await host.start({ module: AGENT, name });
  const [out] = await Promise.all([new Response(h.process.stdout).text(), h.exited]);
  return out.trim().split("\n");
}

Deno.test("a chaos fault scoped to an agent by name hits that agent's calls, not another's", async () => {
  const host = newHost({
    chaos: {
      faults: [{ kind: "error", percent: 100, agents: ["user"], message: "chaos: scoped" }],
    },
  }, false);
  try {
    assertEquals(await lines(host, "user"), Array(5).fill("failed chaos: scoped"));
    assertEquals(await lines(host, "bystander"), Array(5).fill("ok fine"));
    assertEquals(host.sre.status().chaos?.faults.error, 5);
  } finally {
    await host.close();
  }
});

Deno.test("an SDK call refused by an open circuit breaker leaves one audit entry", async () => {
  const host = newHost({
    breakers: trippedAfterTwoFailures("flaky"),
  }, true);
  try {
    const out = await lines(host, "user");
    assertEquals(out.map((l) => l.split(" ")[0]), ["failed", "failed", "busy", "busy", "busy"]);
    const entries = host.audit.recent
      .filter((e) => e.action === "tool.call" && e.resource === "flaky")
      .map((e) => `${e.effect} ${e.reason.startsWith("circuit open") ? "circuit" : e.rule}`);
    assertEquals(entries, [
      "allow flaky",
      "allow flaky",
      "deny circuit",
      "deny circuit",
      "deny circuit",
    ]);
  } finally {
    await host.close();
  }
});
