/** SRE in the host: breakers deny fast, SLO breaches act, chaos really injects faults. */
import { z } from "zod";
import { assertEquals } from "../policy/asserts.ts";
import { compilePolicySet } from "../../governance/mod.ts";
import { compileSlos } from "../../governance/sre/mod.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadRings } from "../../runtime/policy/loader.ts";

const AGENT = new URL("./agents/flaky_user.ts", import.meta.url).pathname;
const POLICY = `apiVersion: warden/v1
kind: Policy
name: t
rules:
  - { id: flaky, effect: allow, action: tool.call, resource: flaky }
`;

function newHost(o: ConstructorParameters<typeof AgentHost>[0]["sre"], failEvery: number) {
  const tools = new ToolRegistry();
  let calls = 0;
  tools.register("flaky", {
    description: "fails on demand",
    schema: z.object({ n: z.number() }),
    run: () => {
      calls++;
      if (failEvery > 0 && calls % failEvery !== 0) throw new Error("backend down");
      return "ok";
    },
  });
  return new AgentHost({
    policy: compilePolicySet([
      { path: "builtin.yaml", text: Deno.readTextFileSync("runtime/policy/builtin.yaml") },
      { path: "t.yaml", text: POLICY },
    ]),
    rings: loadRings(),
    tools,
    sre: o,
  });
}

async function run(host: AgentHost) {
  const h = await host.start({ module: AGENT, name: "user" });
  const [out] = await Promise.all([new Response(h.process.stdout).text(), h.exited]);
  return { lines: out.trim().split("\n"), exit: await h.exited };
}

Deno.test("an open circuit breaker denies fast with its reason, and its state is visible", async () => {
  const host = newHost({
    breakers: {
      defaults: {
        slidingWindowType: "COUNT_BASED",
        slidingWindowSize: 10,
        minimumNumberOfCalls: 10,
        failureRateThreshold: 50,
        waitDurationInOpenState: 60_000,
      },
    },
  }, 1_000_000);
  try {
    const { lines } = await run(host);
    const busy = lines.filter((l) => l.startsWith("busy circuit open for tool:flaky"));
    assertEquals(lines.slice(0, 10).every((l) => l.startsWith("failed")), true);
    if (busy.length < 300) {
      throw new Error(
        `expected fast denials, got ${busy.length}: ${lines.slice(8, 14).join(" | ")}`,
      );
    }
    const snap = host.sre.status().breakers.find((b) => b.name === "tool:flaky")!;
    assertEquals(snap.state, "OPEN");
    if (
      !host.audit.recent.some((e) =>
        e.effect === "deny" && e.reason.startsWith("circuit open for tool:flaky")
      )
    ) {
      throw new Error("fast denial not audited");
    }
  } finally {
    await host.close();
  }
});

Deno.test("an SLO breach runs its actions: alert and kill", async () => {
  const slos = compileSlos(
    `apiVersion: warden/v1
kind: SLOs
slos:
  - name: flaky-success
    kind: success
    scope: { tool: flaky }
    target: 0.9
    window: 60s
    alerts: [{ severity: page, burn: 2, long: 10s, short: 2s }]
    actions: [alert, kill]
`,
    "slos.yaml",
  );
  const host = newHost({ slos, evaluateMs: 100, bucketMs: 500 }, 2);
  const alerts: string[] = [];
  try {
    const { exit } = await run(host);
    assertEquals(exit.code, 137);
    if (!exit.killed?.startsWith("SLO flaky-success breached")) {
      throw new Error(String(exit.killed));
    }
    for (const a of ["sre.alert", "sre.kill"]) {
      if (!host.audit.recent.some((e) => e.action === a && e.resource === "flaky-success")) {
        alerts.push(a);
      }
    }
    assertEquals(alerts, []);
  } finally {
    await host.close();
  }
});

Deno.test("chaos faults are injected into real calls and reported", async () => {
  const host = newHost({
    chaos: {
      enabled: true,
      seed: 7,
      faults: [{ percent: 50, kind: "error", message: "chaos: injected" }],
    },
  }, 0);
  try {
    const { lines } = await run(host);
    const injected = lines.filter((l) => l.includes("chaos: injected")).length;
    if (injected < 100 || injected > 300) throw new Error(`injected ${injected} of 400`);
    assertEquals(host.sre.status().chaos?.faults.error, injected);
  } finally {
    await host.close();
  }
});

Deno.test("SLO actions throttle, demote and freeze rollouts act on the agents in scope", async () => {
  const slos = compileSlos(
    `apiVersion: warden/v1
kind: SLOs
slos:
  - name: user-success
    kind: success
    scope: { agent: user }
    target: 0.9
    window: 60s
    alerts: [{ severity: page, burn: 2, long: 10s, short: 2s }]
    actions: [{ throttle: { rate: 5 } }, demote, freeze_rollouts]
`,
    "slos.yaml",
  );
  const host = newHost({ slos, evaluateMs: 100, bucketMs: 500 }, 2);
  try {
    const first = await host.start({ module: AGENT, name: "user" });
    await first.exited;
    const second = await first.next;
    if (!second) throw new Error("the demoted agent was not restarted");
    assertEquals(second.ref.ring, 3);
    await second.kill("done");
    const acts = host.audit.recent.filter((e) => e.action.startsWith("sre.")).map((e) => e.action);
    for (const a of ["sre.throttle", "sre.demote", "sre.freeze_rollouts"]) {
      if (!acts.includes(a)) throw new Error(`missing ${a}: ${acts.join(", ")}`);
    }
    assertEquals(host.delivery.status().frozen?.startsWith("SLO user-success breached"), true);
  } finally {
    await host.close();
  }
});
