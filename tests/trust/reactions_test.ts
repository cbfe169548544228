/**
 * The trust and SLO reactions (runtime/trust/reactions.ts, runtime/sre/reactions.ts) without a
 * host or a process: each reaches the host only through `setRing(id, ring, cause)` or `kill`.
 */
import type { CompiledPolicy } from "../../governance/mod.ts";
import type { Ring } from "../../governance/rings/mod.ts";
import type { SloAction, SloStatus } from "../../governance/sre/mod.ts";
import type { AgentRef, Ask, Ruling } from "../../runtime/governor.ts";
import { reactToSlo, type SloTarget } from "../../runtime/sre/reactions.ts";
import { trustCap, type TrustedAgent, TrustReactions } from "../../runtime/trust/reactions.ts";
import { TrustService } from "../../runtime/trust/service.ts";
import { assert, assertEquals } from "../policy/asserts.ts";

function agentRef(id: string, ring = 2): AgentRef {
  return { id, name: id, ring, trust: 650, labels: {}, workspace: "/w", code: "/c", sdk: "/s" };
}

function trusted(over: Partial<TrustedAgent> = {}): TrustedAgent {
  return {
    ref: agentRef("a"),
    assigned: 2,
    stopping: false,
    restarting: false,
    inEnvironment: false,
    ...over,
  };
}

function fakeHost(agents: Map<string, TrustedAgent>) {
  const calls: string[] = [];
  let closed = false;
  const host = {
    agent: (id: string) => agents.get(id),
    closed: () => closed,
    policy: () => ({ rules: [{ id: "no-rm", severity: "critical" }] }) as unknown as CompiledPolicy,
    kill: (id: string, why: string) => {
      calls.push(`kill ${id}: ${why}`);
      agents.get(id)!.stopping = true;
      return Promise.resolve();
    },
    setRing: (id: string, ring: Ring, cause: string, detail: string) => {
      calls.push(`ring ${id} ${ring} ${cause} (${detail})`);
      agents.get(id)!.ref.ring = ring;
      return Promise.resolve();
    },
  };
  return { host, calls, close: () => (closed = true) };
}

const broker: Ask = { path: "broker", action: "fs.read", resource: "/etc/shadow" };
const critical = { effect: "deny", rule: "no-rm", reason: "no", seq: 1 } as unknown as Ruling;

Deno.test("trust reactions: a critical violation demotes through setRing; falling below 100 kills", () => {
  const a = trusted();
  const { host, calls } = fakeHost(new Map([["a", a]]));
  const reactions = new TrustReactions(new TrustService(), host);
  reactions.decided("a", broker, critical);
  assertEquals(calls, ["ring a 3 trust (trust 650 -> 400)"]);
  assertEquals(a.ref.trust, 400);
  reactions.decided("a", broker, critical);
  reactions.decided("a", broker, critical);
  assertEquals(calls.at(-1), "kill a: trust revoked: score 0 < 100");
  // Once stopping, nothing more is asked of the host (the score still moves).
  const n = calls.length;
  reactions.decided("a", broker, critical);
  assertEquals(calls.length, n);
});

Deno.test("trust reactions: MCP-path decisions, RL episode steps, restarts and shutdown move nothing", () => {
  const a = trusted({ restarting: true, inEnvironment: true });
  const { host, calls, close } = fakeHost(new Map([["a", a]]));
  const trust = new TrustService();
  const reactions = new TrustReactions(trust, host);
  reactions.decided("a", { ...broker, path: "mcp" }, critical);
  reactions.decided("a", { ...broker, context: { episode: 1 } }, critical);
  const kill = {
    ts: new Date().toISOString(),
    agent: { id: "a" },
    path: "host",
    action: "agent.kill",
  };
  reactions.audited(kill as never); // killed to be restarted
  a.restarting = false;
  close();
  reactions.audited(kill as never); // killed because the host shuts down
  assertEquals(calls, []);
  assertEquals(trust.has("a"), false);
  reactions.decided("nobody", broker, critical);
  assertEquals(calls, []);
});

Deno.test("trust cap: a score below standard caps the asked ring, with the audit note", () => {
  assertEquals(trustCap(2, 650), { ring: 2, note: "" });
  assertEquals(trustCap(1, 400), {
    ring: 3,
    note: "; asked ring 1, trust 400 (probationary) caps it at 3",
  });
});

Deno.test("SLO reactions: scoped to the named agent; demote asks setRing(ring + 1, 'slo'), never past 3", () => {
  const record: unknown[] = [];
  const calls: string[] = [];
  const rates: string[] = [];
  const target = (id: string, ring: number): SloTarget => ({
    ref: agentRef(id, ring),
    stopping: () => false,
    setRate: (n) => rates.push(`${id} ${n}`),
  });
  const agents = [target("a", 2), target("b", 2), target("c", 3)];
  const delivery = {
    sloBreached: () => {},
    freeze: (why: string | null) => calls.push(`freeze ${why}`),
  };
  const host = {
    agents: () => agents,
    governor: { record: (...args: unknown[]) => record.push(args) } as never,
    delivery: delivery as never,
    breached: (id: string) => calls.push(`breach ${id}`),
    alert: () => {},
    kill: (id: string) => (calls.push(`kill ${id}`), Promise.resolve()),
    setRing: (id: string, ring: Ring, cause: string) => (
      calls.push(`ring ${id} ${ring} ${cause}`), Promise.resolve()
    ),
  };
  const slo = {
    slo: "latency",
    budget: { target: 0.99, consumed: 1.5, remaining: -0.5 },
  } as unknown as SloStatus;
  const act = (a: SloAction, scope: { agent?: string } = {}) => reactToSlo(host, slo, a, scope);
  act({ type: "demote" }, { agent: "b" });
  assertEquals(calls, ["breach b", "ring b 3 slo"]);
  calls.length = 0;
  act({ type: "demote" });
  assertEquals(calls, ["breach a", "breach b", "breach c", "ring a 3 slo", "ring b 3 slo"]);
  calls.length = 0;
  act({ type: "throttle", rate: 2 });
  assertEquals(rates, ["a 2", "b 2", "c 2"]);
  act({ type: "kill" }, { agent: "c" });
  assert(calls.includes("kill c") && !calls.includes("kill a"), calls.join());
  assertEquals(record.length, 4); // every breach is audited as the host
});
