/** Progressive policy delivery: hot reload, shadow, canary, automatic rollback, freeze. */
import { assertEquals } from "../policy/asserts.ts";
import { compilePolicy } from "../../governance/mod.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { type AgentRef, Governor } from "../../runtime/governor.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { canaryBucket, PolicyDelivery } from "../../runtime/policy/delivery.ts";

const policy = (name: string, body: string) =>
  compilePolicy(`apiVersion: warden/v1\nkind: Policy\nname: ${name}\nrules:\n${body}`, {
    path: `${name}.yaml`,
  });
const LIVE = policy("live", "  - { id: tools, effect: allow, action: tool.call }\n");
const STRICT = policy(
  "strict",
  "  - { id: only-search, effect: allow, action: tool.call, resource: search }\n",
);

const agent = (id: string): AgentRef => ({
  id,
  name: id,
  ring: 2,
  trust: 500,
  labels: {},
  workspace: "/ws",
  code: "/code",
  sdk: "/sdk",
});
const ask = { path: "sdk" as const, action: "tool.call", resource: "shell" };

function setup() {
  const governor = new Governor(LIVE, loadRings(), new AuditLog());
  return {
    governor,
    d: new PolicyDelivery(governor, { minDecisions: 20, maxDenialRateJump: 0.2 }),
  };
}

Deno.test("hot reload is atomic: a policy that does not compile keeps the last good one", () => {
  const { governor, d } = setup();
  const bad = d.reload(() =>
    compilePolicy(
      "apiVersion: warden/v1\nkind: Policy\nname: x\nrules:\n  - { id: a, effect: allow, action: fs.raed }\n",
      { path: "x.yaml" },
    )
  );
  assertEquals(bad.ok, false);
  if (bad.ok || !bad.problems[0].startsWith("x.yaml:5:37:")) throw new Error(JSON.stringify(bad));
  assertEquals(governor.policy, LIVE);
  assertEquals(d.reload(() => STRICT), { ok: true });
  assertEquals(governor.policy, STRICT);
  assertEquals(governor.decide(agent("a"), ask).effect, "deny");
});

Deno.test("shadow: the candidate is evaluated beside the live policy; disagreements are counted with examples", () => {
  const { governor, d } = setup();
  d.shadow(STRICT);
  for (let i = 0; i < 5; i++) assertEquals(governor.decide(agent(`a${i}`), ask).effect, "allow"); // live still decides
  governor.decide(agent("b"), { ...ask, resource: "search" });
  const s = d.status();
  assertEquals([s.mode, s.shadow.evaluated, s.shadow.disagreements], ["shadow", 6, 5]);
  assertEquals([s.shadow.examples[0].live.effect, s.shadow.examples[0].candidate.effect], [
    "allow",
    "deny",
  ]);
});

Deno.test("canary: a stable share of agents runs on the candidate; a denial-rate jump rolls it back", () => {
  const { governor, d } = setup();
  d.canary(STRICT, 30);
  const ids = Array.from({ length: 400 }, (_, i) => `did:key:agent-${i}`);
  const inCanary = ids.filter((id) => canaryBucket(id) < 30);
  const outside = ids.filter((id) => canaryBucket(id) >= 30);
  assertEquals(governor.decide(agent(outside[0]), ask).effect, "allow");
  assertEquals(governor.decide(agent(inCanary[0]), ask).effect, "deny");
  for (let i = 0; i < 25; i++) {
    governor.decide(agent(outside[i % outside.length]), ask);
    governor.decide(agent(inCanary[i % inCanary.length]), ask);
  }
  const s = d.status();
  assertEquals(s.mode, "none");
  if (!s.history.at(-1)!.includes("rolled back: canary denial rate 100.0% vs live 0.0%")) {
    throw new Error(s.history.join("\n"));
  }
  assertEquals(governor.decide(agent(inCanary[0]), ask).effect, "allow"); // back on the live policy
});

Deno.test("an SLO breach rolls a canary back; frozen rollouts refuse new candidates; promote makes it live", () => {
  const { governor, d } = setup();
  d.canary(STRICT, 50);
  d.sloBreached("tool-success");
  assertEquals(d.status().mode, "none");
  d.freeze("error budget exhausted");
  let msg = "";
  try {
    d.canary(STRICT, 10);
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(msg, "policy rollouts are frozen: error budget exhausted");
  d.freeze(null);
  d.shadow(STRICT);
  d.promote();
  assertEquals(governor.policy, STRICT);
  if (
    !governor.audit.recent.some((e) =>
      e.action === "policy.delivery" && e.reason.startsWith("promoted")
    )
  ) {
    throw new Error("promotion not audited");
  }
});
