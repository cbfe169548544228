/**
 * Saga steps and compensations are tool calls like the SDK's: they run through the host's
 * ToolRunner, so a `require_approval` reaches the approval queue, circuit breakers, chaos and
 * the tool's own deadline apply, and outcomes are measured.
 */
import { z } from "zod";
import type { SagaDefinition } from "../../governance/saga/mod.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import type { SreOptions } from "../../runtime/sre/service.ts";
import { toolHost, trippedAfterTwoFailures } from "../sre/tool_host.ts";
import { AGENT, assertEquals } from "./helpers.ts";

const POLICY = `apiVersion: warden/v1
kind: Policy
name: t
rules:
  - { id: ask-pay, effect: require_approval, action: tool.call, resource: pay }
  - { id: tools, effect: allow, action: tool.call }
`;

/** A host whose tools record their calls (with the idempotency key they were given). */
function newHost(sre: SreOptions = {}) {
  const calls: string[] = [];
  const tools = new ToolRegistry();
  for (const name of ["reserve", "pay", "unreserve", "refund", "boom"]) {
    tools.register(name, {
      description: name,
      schema: z.strictObject({}),
      run: (_a, ctx) => {
        calls.push(`${name} ${ctx.idempotencyKey}`);
        if (name === "boom") throw new Error("backend down");
        return name;
      },
    });
  }
  tools.register("hang", {
    description: "ignores its signal and never answers",
    schema: z.strictObject({}),
    run: () => new Promise(() => {}),
    timeoutMs: 50,
  });
  return { host: toolHost(POLICY, tools, sre), calls };
}

const step = (tool: string, undo: string, more: Record<string, unknown> = {}) => ({
  name: tool,
  action: { tool, args: {} },
  compensation: { tool: undo, args: {} },
  ...more,
});

const trip = (second: string, more: Record<string, unknown> = {}): SagaDefinition => ({
  name: "trip",
  steps: [step("reserve", "unreserve"), step(second, "refund", more)],
  timeoutMs: 20_000, // a backstop only: each case ends long before
});

Deno.test("a require_approval saga step reaches the approval queue: approved runs, denied compensates", async () => {
  const { host, calls } = newHost();
  const asked: string[] = [];
  let verdict: "approved" | "denied" = "approved";
  host.setApprovalHandler((agent, request) => {
    asked.push(`${agent.name} ${request.resource}`);
    return Promise.resolve(verdict);
  });
  try {
    const ok = await host.sagas.run(AGENT, trip("pay"), { id: "s1" });
    assertEquals(ok.status, "completed");
    assertEquals(asked, ["saga-agent pay"]);
    assertEquals(calls, ["reserve s1:0:do", "pay s1:1:do"]);

    verdict = "denied";
    const no = await host.sagas.run(AGENT, trip("pay"), { id: "s2" });
    assertEquals(no.status, "compensated");
    assertEquals(no.steps[1].error?.code, "denied");
    assertEquals(calls.slice(2), ["reserve s2:0:do", "unreserve s2:0:undo"]);
  } finally {
    await host.close();
  }
});

Deno.test("without an approval queue a require_approval saga step is refused, not performed", async () => {
  const { host, calls } = newHost();
  try {
    const s = await host.sagas.run(AGENT, trip("pay"), { id: "s1" });
    assertEquals(s.status, "compensated");
    assertEquals(s.steps[1].error?.code, "approval_required");
    assertEquals(calls.includes("pay s1:1:do"), false);
  } finally {
    await host.close();
  }
});

Deno.test("circuit breakers guard saga steps; a breaker refusal leaves one audit entry", async () => {
  const { host, calls } = newHost({
    breakers: trippedAfterTwoFailures("boom"),
  });
  try {
    const s = await host.sagas.run(
      AGENT,
      trip("boom", { retry: { attempts: 4, baseMs: 1, maxMs: 2 } }),
      { id: "s1" },
    );
    assertEquals(s.status, "compensated");
    assertEquals(s.steps[1].error?.code, "busy");
    assertEquals(calls.filter((c) => c.startsWith("boom")).length, 2); // then the circuit opened
    const snap = host.sre.status().breakers.find((b) => b.name === "tool:boom")!;
    assertEquals(snap.state, "OPEN");
    const entries = host.audit.recent
      .filter((e) => e.action === "tool.call" && e.resource === "boom")
      .map((e) => `${e.effect} ${e.reason.startsWith("circuit open") ? "circuit" : e.rule}`);
    // Two decided and run, then two refused by the breaker, each by its one entry.
    assertEquals(entries, ["allow tools", "allow tools", "deny circuit", "deny circuit"]);
  } finally {
    await host.close();
  }
});

Deno.test("chaos scoped to the saga's agent (by name) and to a tool hits saga steps", async () => {
  const { host, calls } = newHost({
    chaos: {
      seed: 1,
      faults: [{ kind: "error", percent: 100, agents: [AGENT.name], tools: ["pay"] }],
    },
  });
  host.setApprovalHandler(() => Promise.resolve("approved"));
  try {
    const s = await host.sagas.run(AGENT, trip("pay"), { id: "s1" });
    assertEquals(s.status, "compensated");
    assertEquals(s.steps[1].error?.message, "chaos: injected error");
    assertEquals(calls, ["reserve s1:0:do", "unreserve s1:0:undo"]);
    assertEquals(host.sre.status().chaos?.byAgent, {
      [AGENT.id]: { latency: 0, error: 1, drop: 0, timeout: 0 },
    });
  } finally {
    await host.close();
  }
});

Deno.test("a tool's own timeout bounds a saga step that sets none", async () => {
  const { host, calls } = newHost();
  try {
    const s = await host.sagas.run(AGENT, trip("hang"), { id: "s1" });
    assertEquals(s.status, "compensated");
    assertEquals(s.steps[1].error?.code, "timeout");
    assertEquals(calls, ["reserve s1:0:do", "unreserve s1:0:undo"]);
    // The outcome was measured: the tool's breaker saw one failed call.
    const snap = host.sre.status().breakers.find((b) => b.name === "tool:hang")!;
    assertEquals([snap.calls, snap.failedCalls], [1, 1]);
  } finally {
    await host.close();
  }
});

Deno.test("a saga aborted while its step waits for approval does not perform the step", async () => {
  const { host, calls } = newHost();
  host.setApprovalHandler(() => {
    host.sagas.abortAgent(AGENT.id, "agent killed: while the approver was deciding");
    return Promise.resolve("approved");
  });
  try {
    const s = await host.sagas.run(AGENT, trip("pay"), { id: "s1" });
    assertEquals(s.status, "compensated");
    assertEquals(s.steps[1].error?.code, "killed");
    assertEquals(calls, ["reserve s1:0:do", "unreserve s1:0:undo"]);
  } finally {
    await host.close();
  }
});
