import { assertEquals } from "../policy/asserts.ts";
import {
  applyEvent,
  applyValidEvent,
  decayed,
  REVOKE_BELOW,
  ringAtStart,
  ringFor,
  tierOf,
  TRUST_START,
  type TrustState,
} from "../../governance/trust/mod.ts";

const H = 3600 * 1000;

Deno.test("tiers: boundaries exactly as specified", () => {
  const at = (s: number) => tierOf(s);
  assertEquals([
    at(0),
    at(299.9),
    at(300),
    at(499),
    at(500),
    at(699),
    at(700),
    at(899),
    at(900),
    at(1000),
  ], [
    "untrusted",
    "untrusted",
    "probationary",
    "probationary",
    "standard",
    "standard",
    "trusted",
    "trusted",
    "verified",
    "verified",
  ]);
  assertEquals(TRUST_START, 650);
});

Deno.test("events move the score by their documented weights, clamped to 0..1000", () => {
  let s: TrustState = { score: 500, at: 0 };
  s = applyEvent(s, { type: "denied", at: 0 });
  assertEquals(s.score, 495);
  s = applyEvent(s, { type: "violation", severity: "critical", at: 0 });
  assertEquals(s.score, 245);
  s = applyEvent(s, { type: "killed", at: 0 });
  assertEquals(s.score, 95);
  if (!(s.score < REVOKE_BELOW)) throw new Error("should be revocable");
  s = applyEvent(s, { type: "killed", at: 0 });
  assertEquals(s.score, 0);
  let up: TrustState = { score: 995, at: 0 };
  up = applyEvent(up, { type: "saga_completed", at: 0 });
  assertEquals(up.score, 1000);
});

Deno.test("decay pulls toward the baseline from both sides with the configured half-life", () => {
  assertEquals(decayed({ score: 900, at: 0 }, 24 * H), 775);
  assertEquals(decayed({ score: 100, at: 0 }, 48 * H), 512.5);
  assertEquals(decayed({ score: 800, at: 10 }, 5), 800); // never decays backwards in time
  const s = applyEvent({ score: 900, at: 0 }, { type: "allowed", at: 24 * H });
  assertEquals(s.score, 775.1);
});

Deno.test("garbage events are rejected, never folded in", () => {
  for (
    const bad of [
      { type: "allowed", at: NaN },
      { type: "allowed", at: Infinity },
      { type: "allowed", at: -1 },
      { type: "bonus", at: 0 },
      { type: "violation", severity: "apocalyptic", at: 0 },
      { type: "allowed", at: 0, points: 1000 },
      null,
      "allowed",
    ]
  ) {
    let threw = false;
    try {
      applyEvent({ score: 500, at: 0 }, bad);
    } catch {
      threw = true;
    }
    if (!threw) throw new Error(`accepted ${JSON.stringify(bad)}`);
  }
  let corrupt = false;
  try {
    applyEvent({ score: NaN, at: 0 }, { type: "allowed", at: 1 });
  } catch {
    corrupt = true;
  }
  assertEquals(corrupt, true);
});

Deno.test("ring transitions: immediate demotion on a tier drop; no automatic promotion into rings 0 or 1", () => {
  assertEquals(ringFor(2, 2, 520, 480), 3); // standard -> probationary: ring 2 -> 3
  assertEquals(ringFor(1, 1, 720, 650), 2); // trusted -> standard: ring 1 -> 2
  assertEquals(ringFor(0, 0, 950, 850), 1); // verified -> trusted: ring 0 -> 1
  assertEquals(ringFor(3, 3, 520, 480), 3); // already below the cap
  assertEquals(ringFor(3, 2, 480, 520), 2); // recovers within 2..3, up to what was assigned
  assertEquals(ringFor(3, 3, 480, 520), 3); // never above the assignment
  assertEquals(ringFor(2, 1, 650, 720), 2); // trusted again, but ring 1 needs an operator
  assertEquals(ringFor(2, 0, 850, 950), 2);
  assertEquals(ringFor(1, 1, 600, 590), 1); // no tier change, no ring change
});

Deno.test("ring at start: below standard the tier caps the asked ring at 3; operators assign the rest", () => {
  assertEquals(ringAtStart(2, 450), 3); // probationary
  assertEquals(ringAtStart(0, 250), 3); // untrusted
  assertEquals(ringAtStart(3, 450), 3);
  assertEquals(ringAtStart(2, 600), 2); // standard: as asked
  assertEquals(ringAtStart(0, 600), 0); // rings 0 and 1 are the operator's call
  assertEquals(ringAtStart(1, 500), 1);
});

Deno.test("the host's typed events (no parse) score exactly as parsed ones; a bad time is refused", () => {
  const events = [
    { type: "allowed", at: 5 },
    { type: "denied", at: 9 },
    { type: "violation", severity: "high", at: 3_600_000 },
    { type: "saga_completed", at: 3_600_100 },
    { type: "killed", at: 7_200_000 },
  ] as const;
  let a: TrustState = { score: 650, at: 0 }, b = a;
  for (const e of events) {
    a = applyEvent(a, e);
    b = applyValidEvent(b, e);
    assertEquals(b, a);
  }
  for (const at of [NaN, Infinity, -1]) {
    let threw = false;
    try {
      applyValidEvent(a, { type: "allowed", at });
    } catch {
      threw = true;
    }
    assertEquals(threw, true);
  }
});
