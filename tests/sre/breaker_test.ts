/** Circuit breaker state machine (governance/sre/breaker.ts), on a simulated clock. */
import {
  agentKey,
  BreakerConfig,
  BreakerRegistry,
  type BreakerTransition,
  CircuitBreaker,
  matchesPattern,
  toolKey,
} from "../../governance/sre/breaker.ts";
import { assertEquals } from "../policy/asserts.ts";

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

function ok(b: CircuitBreaker, now: number, durationMs = 10) {
  const p = b.tryAcquire(now);
  if (!p.permitted) throw new Error(`expected a permit, got: ${p.reason}`);
  b.onResult(now, { durationMs, success: true, epoch: p.epoch });
}

function fail(b: CircuitBreaker, now: number, durationMs = 10) {
  const p = b.tryAcquire(now);
  if (!p.permitted) throw new Error(`expected a permit, got: ${p.reason}`);
  b.onResult(now, { durationMs, success: false, epoch: p.epoch });
}

function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

const small = {
  slidingWindowSize: 20,
  minimumNumberOfCalls: 20,
  failureRateThreshold: 50,
  waitDurationInOpenState: 30_000,
  permittedNumberOfCallsInHalfOpenState: 3,
};

Deno.test("config: resilience4j defaults", () => {
  assertEquals(BreakerConfig.parse({}), {
    slidingWindowType: "COUNT_BASED",
    slidingWindowSize: 100,
    failureRateThreshold: 50,
    slowCallRateThreshold: 100,
    slowCallDurationThreshold: 60_000,
    minimumNumberOfCalls: 100,
    waitDurationInOpenState: 60_000,
    permittedNumberOfCallsInHalfOpenState: 10,
  });
  assertEquals(BreakerConfig.safeParse({ failureRateThreshold: 0 }).success, false);
  assertEquals(BreakerConfig.safeParse({ failureRateThreshold: 101 }).success, false);
  assertEquals(BreakerConfig.safeParse({ slidingWindowType: "SESSION" }).success, false);
  assertEquals(BreakerConfig.safeParse({ bogus: 1 }).success, false);
});

Deno.test("CLOSED → OPEN by failure rate, with the reason and the transition", () => {
  const transitions: BreakerTransition[] = [];
  const b = new CircuitBreaker("tool:search", small, (t) => transitions.push(t));
  for (let i = 0; i < 7; i++) ok(b, T0);
  for (let i = 0; i < 12; i++) fail(b, T0);
  assertEquals(b.state(T0), "CLOSED", "19 calls < minimumNumberOfCalls");
  ok(b, T0 + 5); // 20 calls, 12 failed → 60%
  assertEquals(b.state(T0 + 5), "OPEN");
  const s = b.snapshot(T0 + 5);
  assertEquals(s.state, "OPEN");
  assertEquals(s.openedAt, T0 + 5);
  assertEquals(s.nextAttemptAt, T0 + 5 + 30_000);
  assertEquals(s.openReason, "failure rate 60% ≥ 50% over the last 20 calls");
  assertEquals(transitions.length, 1);
  assertEquals(transitions[0].from, "CLOSED");
  assertEquals(transitions[0].to, "OPEN");
  assertEquals(transitions[0].at, T0 + 5);
});

Deno.test("the failure threshold is inclusive: exactly 50% opens", () => {
  const b = new CircuitBreaker("x", { ...small, slidingWindowSize: 4, minimumNumberOfCalls: 4 });
  ok(b, T0);
  ok(b, T0);
  fail(b, T0);
  assertEquals(b.state(T0), "CLOSED");
  fail(b, T0);
  assertEquals(b.state(T0), "OPEN");
});

Deno.test("CLOSED → OPEN by slow-call rate (successful but slow calls)", () => {
  const b = new CircuitBreaker("tool:slow", {
    slidingWindowSize: 10,
    minimumNumberOfCalls: 10,
    slowCallRateThreshold: 60,
    slowCallDurationThreshold: 1000,
    failureRateThreshold: 50,
  });
  for (let i = 0; i < 4; i++) ok(b, T0, 50);
  for (let i = 0; i < 5; i++) ok(b, T0, 2000);
  ok(b, T0, 1000); // exactly the threshold: not slow
  assertEquals(b.state(T0), "CLOSED");
  assertEquals(b.snapshot(T0).slowCallRate, 50);
  assertEquals(b.snapshot(T0).failureRate, 0);
  ok(b, T0, 1001); // evicts a fast call: 6 slow of 10
  assertEquals(b.state(T0), "OPEN");
  assertEquals(
    b.snapshot(T0).openReason,
    "slow-call rate 60% ≥ 60% (calls over 1000 ms) over the last 10 calls",
  );
});

Deno.test("not before minimumNumberOfCalls, even at 100% failures", () => {
  const b = new CircuitBreaker("x", { slidingWindowSize: 50, minimumNumberOfCalls: 10 });
  for (let i = 0; i < 9; i++) fail(b, T0);
  const s = b.snapshot(T0);
  assertEquals(s.state, "CLOSED");
  assertEquals(s.failureRate, 100);
  assertEquals(s.calls, 9);
  fail(b, T0);
  assertEquals(b.state(T0), "OPEN");
});

Deno.test("COUNT_BASED caps minimumNumberOfCalls at the window size", () => {
  const b = new CircuitBreaker("x", { slidingWindowSize: 5 }); // minimum defaults to 100
  assertEquals(b.minimumNumberOfCalls, 5);
  for (let i = 0; i < 5; i++) fail(b, T0);
  assertEquals(b.state(T0), "OPEN");
});

Deno.test("OPEN denies fast with a reason, counts notPermitted", () => {
  const b = new CircuitBreaker("tool:search", small);
  for (let i = 0; i < 8; i++) ok(b, T0);
  for (let i = 0; i < 12; i++) fail(b, T0);
  assertEquals(b.state(T0), "OPEN");
  const retry = new Date(T0 + 30_000).toISOString();
  for (let i = 1; i <= 3; i++) {
    const p = b.tryAcquire(T0 + i * 1000);
    assertEquals(p, {
      permitted: false,
      state: "OPEN",
      reason:
        `circuit open for tool:search: failure rate 60% ≥ 50% over the last 20 calls; retry after ${retry}`,
      retryAfter: T0 + 30_000,
    });
  }
  assertEquals(b.snapshot(T0 + 3000).notPermitted, 3);
  assertEquals(b.snapshot(T0 + 29_999).state, "OPEN");
});

Deno.test("OPEN → HALF_OPEN after the wait; late results of the old period are ignored", () => {
  const transitions: BreakerTransition[] = [];
  const b = new CircuitBreaker("x", small, (t) => transitions.push(t));
  const stale = b.tryAcquire(T0);
  assert(stale.permitted);
  for (let i = 0; i < 20; i++) fail(b, T0);
  assertEquals(b.state(T0 + 29_999), "OPEN");
  assertEquals(b.state(T0 + 30_000), "HALF_OPEN");
  assertEquals(transitions.map((t) => `${t.from}→${t.to}@${t.at - T0}`), [
    "CLOSED→OPEN@0",
    "OPEN→HALF_OPEN@30000",
  ]);
  const s = b.snapshot(T0 + 30_000);
  assertEquals(s.nextAttemptAt, undefined);
  assertEquals(s.openedAt, T0);
  // a result of a call permitted while CLOSED does not count as a trial
  b.onResult(T0 + 30_001, { durationMs: 1, success: false, epoch: stale.epoch });
  assertEquals(b.snapshot(T0 + 30_001).calls, 0);
});

Deno.test("OPEN → HALF_OPEN happens lazily on tryAcquire, which takes a trial", () => {
  const b = new CircuitBreaker("x", small);
  for (let i = 0; i < 20; i++) fail(b, T0);
  const p = b.tryAcquire(T0 + 60_000);
  assertEquals(p.permitted, true);
  assertEquals(p.state, "HALF_OPEN");
});

function openThenHalfOpen(extra = {}) {
  const transitions: BreakerTransition[] = [];
  const b = new CircuitBreaker("tool:t", { ...small, ...extra }, (t) => transitions.push(t));
  for (let i = 0; i < 20; i++) fail(b, T0);
  assertEquals(b.state(T0 + 30_000), "HALF_OPEN");
  return { b, transitions, now: T0 + 30_000 };
}

Deno.test("HALF_OPEN → CLOSED after good trials, with a fresh window", () => {
  const { b, transitions, now } = openThenHalfOpen();
  ok(b, now);
  fail(b, now); // 1 of 3 failed: 33% < 50%
  assertEquals(b.state(now), "HALF_OPEN");
  assertEquals(b.snapshot(now).calls, 2);
  ok(b, now);
  assertEquals(b.state(now), "CLOSED");
  const s = b.snapshot(now);
  assertEquals([s.calls, s.failureRate, s.openedAt, s.nextAttemptAt], [0, 0, undefined, undefined]);
  assertEquals(transitions.at(-1)!.to, "CLOSED");
  assertEquals(transitions.at(-1)!.reason, "3 trial calls below thresholds");
  // closed again: a few failures do not reopen (below minimumNumberOfCalls)
  for (let i = 0; i < 19; i++) fail(b, now);
  assertEquals(b.state(now), "CLOSED");
});

Deno.test("HALF_OPEN → OPEN after bad trials (failures), waiting again", () => {
  const { b, now } = openThenHalfOpen();
  ok(b, now);
  fail(b, now + 10);
  fail(b, now + 20); // 2 of 3: 67%
  assertEquals(b.state(now + 20), "OPEN");
  const s = b.snapshot(now + 20);
  assertEquals(s.openedAt, now + 20);
  assertEquals(s.nextAttemptAt, now + 20 + 30_000);
  assertEquals(s.openReason, "failure rate 66.7% ≥ 50% over 3 half-open trial calls");
  const p = b.tryAcquire(now + 21);
  assert(!p.permitted);
  assert(p.reason.startsWith("circuit open for tool:t: failure rate 66.7% ≥ 50% over 3 half-open"));
  assertEquals(b.state(now + 20 + 30_000), "HALF_OPEN");
});

Deno.test("HALF_OPEN → OPEN after slow trials", () => {
  const { b, now } = openThenHalfOpen({
    slowCallDurationThreshold: 100,
    slowCallRateThreshold: 50,
  });
  ok(b, now, 500);
  ok(b, now, 500);
  ok(b, now, 5);
  assertEquals(b.state(now), "OPEN");
});

Deno.test("HALF_OPEN denies calls beyond the permitted trials, until they report", () => {
  const { b, now } = openThenHalfOpen();
  const permits = [b.tryAcquire(now), b.tryAcquire(now), b.tryAcquire(now)];
  assertEquals(permits.map((p) => p.permitted), [true, true, true]);
  const denied = b.tryAcquire(now + 1);
  assertEquals(denied, {
    permitted: false,
    state: "HALF_OPEN",
    reason:
      "circuit half-open for tool:t: all 3 trial calls already permitted; waiting for their results",
  });
  assertEquals(b.snapshot(now + 1).notPermitted, 1);
  // a released permit frees a slot
  b.release(now + 2, (permits[2] as { epoch: number }).epoch);
  for (const p of [permits[0], permits[1]]) {
    b.onResult(now + 3, { durationMs: 1, success: true, epoch: (p as { epoch: number }).epoch });
  }
  // a result beyond the permitted trials is ignored
  b.onResult(now + 3, { durationMs: 1, success: false });
  assertEquals(b.snapshot(now + 3).calls, 2);
  assertEquals(b.state(now + 3), "HALF_OPEN");
  const again = b.tryAcquire(now + 4);
  assertEquals(again.permitted, true);
  assertEquals(b.tryAcquire(now + 4).permitted, false);
  b.onResult(now + 5, { durationMs: 1, success: true, epoch: (again as { epoch: number }).epoch });
  assertEquals(b.state(now + 5), "CLOSED");
  assertEquals(b.snapshot(now + 5).calls, 0);
});

Deno.test("COUNT_BASED window evicts the oldest calls", () => {
  const b = new CircuitBreaker("x", { slidingWindowSize: 5, minimumNumberOfCalls: 5 });
  fail(b, T0);
  fail(b, T0);
  ok(b, T0);
  ok(b, T0);
  ok(b, T0); // 2/5 = 40%
  assertEquals(b.snapshot(T0).failureRate, 40);
  ok(b, T0); // evicts a failure: 1/5
  assertEquals(b.snapshot(T0).failureRate, 20);
  ok(b, T0); // evicts the other: 0/5
  assertEquals(b.snapshot(T0), {
    name: "x",
    state: "CLOSED",
    failureRate: 0,
    slowCallRate: 0,
    calls: 5,
    failedCalls: 0,
    slowCalls: 0,
    notPermitted: 0,
  });
  fail(b, T0);
  fail(b, T0);
  assertEquals(b.state(T0), "CLOSED"); // 2/5 = 40%
  fail(b, T0); // 3/5 = 60%
  assertEquals(b.state(T0), "OPEN");
});

Deno.test("TIME_BASED window: buckets expire after N seconds", () => {
  const b = new CircuitBreaker("agent:did:x", {
    slidingWindowType: "TIME_BASED",
    slidingWindowSize: 10,
    minimumNumberOfCalls: 5,
  });
  const base = Math.floor(T0 / 1000) * 1000;
  // second 0: 4 failures
  for (let i = 0; i < 4; i++) fail(b, base + 100);
  assertEquals(b.snapshot(base + 9_999).calls, 4, "still in the window at second 9");
  assertEquals(b.snapshot(base + 10_000).calls, 0, "second 0 expired at second 10");
  // the failure at second 10 is alone: no trip (1 call < 5)
  fail(b, base + 10_000);
  assertEquals(b.state(base + 10_000), "CLOSED");
  // seconds 11..14: four successes, one per second
  for (let s = 11; s <= 14; s++) ok(b, base + s * 1000);
  const snap = b.snapshot(base + 14_000);
  assertEquals([snap.calls, snap.failureRate], [5, 20]);
  // second 20: the failure of second 10 has expired
  assertEquals(b.snapshot(base + 20_000).calls, 4);
  // many calls in one second are aggregated in one bucket; they trip together
  for (let i = 0; i < 4; i++) fail(b, base + 20_500);
  assertEquals(b.state(base + 20_500), "OPEN");
  assertEquals(
    b.snapshot(base + 20_500).openReason,
    "failure rate 50% ≥ 50% over 8 calls in the last 10 s",
  );
});

Deno.test("TIME_BASED window: a bucket slot reused after wrap-around is reset", () => {
  const b = new CircuitBreaker("x", {
    slidingWindowType: "TIME_BASED",
    slidingWindowSize: 3,
    minimumNumberOfCalls: 100,
  });
  const base = Math.floor(T0 / 1000) * 1000;
  for (let i = 0; i < 5; i++) fail(b, base); // slot (sec % 3)
  ok(b, base + 3000); // same slot, 3 s later
  const s = b.snapshot(base + 3000);
  assertEquals([s.calls, s.failedCalls], [1, 0]);
});

Deno.test("reset closes an open breaker", () => {
  const b = new CircuitBreaker("x", small);
  for (let i = 0; i < 20; i++) fail(b, T0);
  b.reset(T0 + 1);
  assertEquals(b.snapshot(T0 + 1).state, "CLOSED");
  assertEquals(b.tryAcquire(T0 + 1).permitted, true);
});

Deno.test("registry: per tool and per agent, defaults and pattern overrides", () => {
  const transitions: string[] = [];
  const reg = new BreakerRegistry({
    defaults: { minimumNumberOfCalls: 10, slidingWindowSize: 10 },
    overrides: [
      { pattern: "tool:*", config: { failureRateThreshold: 30 } },
      { pattern: "tool:search", config: { waitDurationInOpenState: 5_000 } },
      { pattern: "agent:did:warden:*", config: { slidingWindowType: "TIME_BASED" } },
    ],
  }, (t) => transitions.push(`${t.name}:${t.to}`));
  const search = reg.get(toolKey("search"));
  assertEquals(reg.get("tool:search"), search, "same breaker for the same key");
  assertEquals(search.config.failureRateThreshold, 30);
  assertEquals(search.config.waitDurationInOpenState, 5_000);
  assertEquals(search.config.minimumNumberOfCalls, 10);
  assertEquals(reg.configFor("tool:fetch").waitDurationInOpenState, 60_000);
  assertEquals(reg.configFor("tool:fetch").failureRateThreshold, 30);
  const agent = reg.get(agentKey("did:warden:abc"));
  assertEquals(agent.config.slidingWindowType, "TIME_BASED");
  assertEquals(agent.config.failureRateThreshold, 50);
  assertEquals(reg.configFor("agent:did:other:x").slidingWindowType, "COUNT_BASED");
  // breakers are independent
  for (let i = 0; i < 7; i++) ok(search, T0);
  for (let i = 0; i < 3; i++) fail(search, T0); // 30% ≥ 30%
  assertEquals(search.state(T0), "OPEN");
  assertEquals(agent.tryAcquire(T0).permitted, true);
  assertEquals(transitions, ["tool:search:OPEN"]);
  assertEquals(reg.keys(), ["agent:did:warden:abc", "tool:search"]);
  assertEquals(reg.snapshots(T0).map((s) => s.state), ["CLOSED", "OPEN"]);
  assertEquals(reg.has("tool:other"), false);
});

Deno.test("registry: invalid config is rejected", () => {
  let threw = false;
  try {
    new BreakerRegistry({ overrides: [{ pattern: "tool:*", config: { slidingWindowSize: 0 } }] });
  } catch {
    threw = true;
  }
  assertEquals(threw, true);
});

Deno.test("matchesPattern: * is any run, other characters are literal", () => {
  assertEquals(matchesPattern("tool:*", "tool:search"), true);
  assertEquals(matchesPattern("tool:*", "agent:x"), false);
  assertEquals(matchesPattern("tool:a.b", "tool:axb"), false);
  assertEquals(matchesPattern("*:search", "tool:search"), true);
  assertEquals(matchesPattern("tool:search", "tool:search2"), false);
});
