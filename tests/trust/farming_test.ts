/**
 * Trust farming (issue 16 class 8): allowed operations must not buy forgiveness for violations.
 * Pure model tests (the clock is passed in) and properties over random interleavings.
 */
import fc from "fast-check";
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { type AgentHandle, AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import {
  applyEvent,
  decayed,
  DEFAULT_TRUST,
  EARN_LIMITS,
  REVOKE_BELOW,
  type Tier,
  tierOf,
  TRUST_START,
  type TrustState,
} from "../../governance/trust/mod.ts";

const H = 3600 * 1000;
const RANK: Record<Tier, number> = {
  untrusted: 0,
  probationary: 1,
  standard: 2,
  trusted: 3,
  verified: 4,
};

Deno.test("trust farming: 30 allowed checks around each of 300 denials never gains a tier", () => {
  for (const gapMs of [1, 1000, 60_000]) {
    let s: TrustState = { score: TRUST_START, at: 0 };
    let t = 0, max = s.score;
    for (let d = 0; d < 300; d++) {
      for (let i = 0; i < 30; i++) {
        s = applyEvent(s, { type: "allowed", at: t += gapMs });
        max = Math.max(max, s.score);
      }
      s = applyEvent(s, { type: "denied", at: t += gapMs });
    }
    if (RANK[tierOf(max)] > RANK[tierOf(TRUST_START)]) {
      throw new Error(`farming reached ${tierOf(max)} (${max}) at ${gapMs} ms per check`);
    }
    // At one check a minute the 300 denials span six days: decay has forgiven part of them.
    if (gapMs <= 1000 && !(s.score < REVOKE_BELOW)) {
      throw new Error(`300 denials left a score of ${s.score} (${gapMs} ms per check)`);
    }
  }
});

Deno.test("trust farming: what routine allows earn is bounded per window, outcomes too", () => {
  let s: TrustState = { score: TRUST_START, at: 0 };
  for (let i = 0; i < 10_000; i++) s = applyEvent(s, { type: "allowed", at: i });
  assertEquals(Math.round(s.score - TRUST_START), EARN_LIMITS.allowed);
  let o: TrustState = { score: TRUST_START, at: 0 };
  for (let i = 0; i < 100; i++) o = applyEvent(o, { type: "saga_completed", at: i });
  assertEquals(Math.round(o.score - TRUST_START), EARN_LIMITS.outcomes);
  // Below the baseline, allows repay nothing: only time and outcomes do.
  let low: TrustState = { score: 450, at: 0 };
  for (let i = 0; i < 1000; i++) low = applyEvent(low, { type: "allowed", at: i });
  if (low.score > 450.01) throw new Error(`allows repaid a penalty: ${low.score}`);
  // A violation weighs its full severity however many allows came first.
  let v: TrustState = { score: 700, at: 0 };
  for (let i = 0; i < 1000; i++) v = applyEvent(v, { type: "allowed", at: i });
  const before = v.score;
  v = applyEvent(v, { type: "violation", severity: "high", at: 1000 });
  assertEquals(Math.round(before - v.score), 100);
});

Deno.test("trust farming property: no interleaving of allows with denials climbs", () => {
  const negative = fc.oneof(
    fc.constant({ type: "denied" as const }),
    fc.record({
      type: fc.constant("violation" as const),
      severity: fc.constantFrom("low", "medium", "high", "critical"),
    }),
  );
  const cycle = fc.record({
    allows: fc.integer({ min: 0, max: 30 }),
    gapMs: fc.integer({ min: 0, max: 2 * H }),
    deny: negative,
  });
  fc.assert(
    fc.property(
      fc.integer({ min: 100, max: 1000 }),
      fc.array(cycle, { minLength: 1, maxLength: 300 }),
      (start, cycles) => {
        let s: TrustState = { score: start, at: 0 };
        let t = 0;
        const bound = Math.max(start, DEFAULT_TRUST.baseline) + 3 + 1e-9;
        const topRank = Math.max(RANK[tierOf(start)], RANK.standard);
        for (const c of cycles) {
          for (let i = 0; i < c.allows; i++) {
            s = applyEvent(s, { type: "allowed", at: t += Math.floor(c.gapMs / 31) });
            if (s.score > bound) return false;
          }
          s = applyEvent(s, { ...c.deny, at: t += Math.floor(c.gapMs / 31) });
          if (s.score > bound || RANK[tierOf(s.score)] > topRank) return false;
        }
        return true;
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("an honest agent still recovers: through decay, outcomes, and steady allowed work", () => {
  // A critical violation drops a new agent to probationary; two quiet days restore "standard".
  const hit = applyEvent({ score: TRUST_START, at: 0 }, {
    type: "violation",
    severity: "critical",
    at: 0,
  });
  assertEquals(tierOf(hit.score), "probationary");
  assertEquals(tierOf(applyEvent(hit, { type: "allowed", at: 48 * H }).score), "standard");
  // Completed sagas are outcomes: they count even below the baseline (within their bound).
  let s = hit;
  for (let i = 1; i <= 16; i++) s = applyEvent(s, { type: "saga_completed", at: i * 15 * 60_000 });
  if (tierOf(s.score) !== "standard") throw new Error(`after 4 h of sagas: ${s.score}`);
  // Three days of steady allowed work (one check every 30 s) earns "trusted", never "verified".
  let w: TrustState = { score: TRUST_START, at: 0 };
  for (let t = 0; t <= 72 * H; t += 30_000) w = applyEvent(w, { type: "allowed", at: t });
  assertEquals(tierOf(w.score), "trusted");
  for (let t = 72 * H; t <= 30 * 24 * H; t += 60_000) {
    w = applyEvent(w, { type: "allowed", at: t });
  }
  assertEquals(tierOf(w.score), "trusted");
});

Deno.test("end to end: a farming agent under a host is demoted and revoked, never promoted", async () => {
  const dir = await Deno.makeTempDir();
  const ws = join(dir, "ws");
  await Deno.mkdir(ws);
  await Deno.writeTextFile(join(ws, "notes.txt"), "notes");
  const host = new AgentHost({
    policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
    rings: loadRings(),
  });
  let max = 0; // the farmer's score after every decision (trust moves in a microtask)
  host.audit.subscribe((e) => {
    if (e.agent.name !== "farmer") return;
    setTimeout(() => (max = Math.max(max, host.trust.score(e.agent.id))), 0);
  });
  try {
    let h: AgentHandle | null = await host.start({
      module: new URL("./agents/farmer.ts", import.meta.url).pathname,
      name: "farmer",
      workspace: ws,
    });
    const id = h.id;
    let exit;
    while (h) {
      exit = await h.exited;
      h = await h.next;
    }
    const log = host.audit.recent.filter((e) => e.agent.id === id);
    const allows = log.filter((e) => e.path === "broker" && e.effect === "allow").length;
    if (allows < 300) throw new Error(`only ${allows} allowed checks: no farming happened`);
    if (max > TRUST_START + EARN_LIMITS.allowed) throw new Error(`farmed up to ${max}`);
    const demotion = log.find((e) => e.action === "agent.ring")!;
    if (!demotion?.reason.startsWith("trust: ring 2 -> 3")) throw new Error(demotion?.reason);
    if (!/^trust revoked: score \d+ < 100$/.test(String(exit?.killed))) {
      throw new Error(`farmer ended with ${JSON.stringify(exit)}`);
    }
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("routine credit resumes only once a penalty has faded; tampered earnings cannot widen the bound", () => {
  let s = applyEvent({ score: TRUST_START, at: 0 }, { type: "denied", at: 0 });
  s = applyEvent(s, { type: "allowed", at: 24 * H });
  if (s.score >= TRUST_START - 1) throw new Error(`one day later: ${s.score}`);
  const before = s.score;
  s = applyEvent(s, { type: "allowed", at: 24 * H + 1 });
  assertEquals(s.score, decayedAt(before, 24 * H, 24 * H + 1)); // no credit yet
  s = applyEvent(s, { type: "allowed", at: 72 * H }); // 3 half-lives: 5 -> 0.6 below the baseline
  if (!(s.score > TRUST_START - 1)) throw new Error(`three days later: ${s.score}`);
  const tampered: TrustState = {
    score: 700,
    at: 0,
    earned: { window: 0, allowed: -1e9, outcomes: Number.NaN },
  };
  let t = tampered;
  for (let i = 0; i < 10_000; i++) t = applyEvent(t, { type: "allowed", at: i });
  for (let i = 0; i < 100; i++) t = applyEvent(t, { type: "saga_completed", at: i });
  if (t.score > 700 + EARN_LIMITS.allowed + 1e-9) throw new Error(`tampered state: ${t.score}`);
});

function decayedAt(score: number, from: number, to: number): number {
  return decayed({ score, at: from }, to);
}
