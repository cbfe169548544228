/** Error-budget math and the bucketed event store (simulated clock). */
import { assertEquals } from "../policy/asserts.ts";
import {
  BucketSeries,
  burnRate,
  compileSlos,
  errorBudget,
  SloMonitor,
  SloStore,
} from "../../governance/sre/mod.ts";

Deno.test("budget math: 1 bad in 100 at 99% is exactly exhausted, 1 in 200 is half", () => {
  assertEquals(errorBudget({ good: 99, total: 100 }, 0.99), {
    target: 0.99,
    consumed: 1,
    remaining: 0,
  });
  assertEquals(errorBudget({ good: 199, total: 200 }, 0.99), {
    target: 0.99,
    consumed: 0.5,
    remaining: 0.5,
  });
  assertEquals(errorBudget({ good: 0, total: 0 }, 0.99), {
    target: 0.99,
    consumed: 0,
    remaining: 1,
  });
  assertEquals(errorBudget({ good: 100, total: 100 }, 0.99).consumed, 0);
  assertEquals(errorBudget({ good: 0, total: 100 }, 0.99), {
    target: 0.99,
    consumed: 100,
    remaining: -99,
  });
  assertEquals(errorBudget({ good: 999, total: 1000 }, 0.999).consumed, 1);
  assertEquals(errorBudget({ good: 297, total: 300 }, 0.99).consumed, 1);
  assertEquals(errorBudget({ good: 19, total: 20 }, 0.9).consumed, 0.5);
  assertEquals(burnRate({ good: 856, total: 1000 }, 0.99), 14.4);
  assertEquals(burnRate({ good: 0, total: 0 }, 0.5), 0);
});

Deno.test("buckets: window sums, events after now excluded, expiry and bounded memory", () => {
  const s = new BucketSeries(10_000, 1_000); // 10 buckets of 1 s
  assertEquals(s.slots, 10);
  for (let t = 0; t < 10; t++) s.add(t * 1_000 + 500, t % 2 === 0);
  assertEquals(s.counts(9_999, 10_000), { good: 5, total: 10 });
  assertEquals(s.counts(9_999, 3_000), { good: 1, total: 3 }); // t = 7, 8, 9
  assertEquals(s.counts(4_999, 3_000), { good: 2, total: 3 }); // t = 2, 3, 4 (later ones excluded)
  assertEquals(s.size, 10);
  s.expire(14_999); // head bucket 14: buckets <= 4 fall out
  assertEquals(s.size, 5);
  assertEquals(s.counts(14_999, 10_000), { good: 2, total: 5 });
  assertEquals(s.add(3_000, false), false, "older than the horizon: dropped");
  s.expire(100_000);
  assertEquals(s.size, 0);
  assertEquals(s.counts(100_000, 10_000), { good: 0, total: 0 });
  for (let t = 0; t < 10_000; t++) s.add(200_000 + t * 250, true);
  assertEquals(s.size <= s.slots, true);
});

Deno.test("store: scope and kind matching, latency threshold, compliance", () => {
  const { slos } = compileSlos(
    `apiVersion: warden/v1
kind: SLOs
slos:
  - { name: host, kind: success, target: 0.99, window: 60s }
  - { name: a1, kind: success, scope: { agent: a1 }, target: 0.99, window: 60s }
  - { name: a1-search, kind: success, scope: { agent: a1, tool: search }, target: 0.99, window: 60s }
  - { name: lat, kind: latency, scope: { tool: search }, threshold_ms: 300, target: 0.99, window: 60s }
  - { name: comp, kind: compliance, target: 0.95, window: 60s }
`,
    "s.yaml",
  );
  const store = new SloStore(slos, { bucketMs: 1_000 });
  assertEquals(store.record({ at: 1, agent: "a1", tool: "search", ok: true, latencyMs: 300 }), [
    "host",
    "a1",
    "a1-search",
    "lat",
  ]);
  assertEquals(store.record({ at: 2, agent: "a2", tool: "search", ok: false, latencyMs: 301 }), [
    "host",
    "lat",
  ]);
  assertEquals(store.record({ at: 3, agent: "a1", allowed: false }), ["comp"]);
  assertEquals(store.record({ at: 4, agent: "a1", good: false, kind: "success" }), [
    "host",
    "a1",
  ]);
  assertEquals(store.counts("host", 999, 60_000), { good: 1, total: 3 });
  assertEquals(store.counts("lat", 999, 60_000), { good: 1, total: 2 });
  assertEquals(store.counts("comp", 999, 60_000), { good: 0, total: 1 });
});

Deno.test("monitor budget over the SLO window; breach and actions; budget recovers as buckets expire", () => {
  const { slos } = compileSlos(
    `apiVersion: warden/v1
kind: SLOs
slos:
  - name: s
    kind: success
    target: 0.99
    window: 60s
    alerts: [{ severity: ticket, burn: 1000, long: 60s, short: 5s }]
    actions: [alert, { throttle: { rate: 1 } }]
`,
    "s.yaml",
  );
  const m = new SloMonitor(slos, { bucketMs: 1_000 });
  for (let i = 0; i < 200; i++) m.record({ at: 10_000 + i, ok: i !== 7 });
  let [st] = m.evaluate(20_000);
  assertEquals([st.budget, st.breached, st.actions], [
    { target: 0.99, consumed: 0.5, remaining: 0.5 },
    false,
    [],
  ]);
  for (let i = 0; i < 100; i++) m.record({ at: 30_000 + i, ok: i !== 3 });
  [st] = m.evaluate(30_500); // 2 bad in 300
  assertEquals(st.budget.consumed, Number((2 / 3).toPrecision(12)));
  assertEquals(st.breached, false);
  m.record({ at: 30_600, ok: false });
  m.record({ at: 30_601, ok: false }); // 4 bad in 302
  [st] = m.evaluate(30_700);
  assertEquals(st.budget.consumed > 1, true);
  assertEquals(st.breached, true);
  assertEquals(st.actions, [{ type: "alert" }, { type: "throttle", rate: 1 }]);
  [st] = m.evaluate(75_000); // first batch (t = 10 s) left the 60 s window
  assertEquals(st.budget.consumed, Number((3 / 102 / 0.01).toPrecision(12)));
  [st] = m.evaluate(200_000);
  assertEquals([st.budget.consumed, st.breached], [0, false]);
  assertEquals(m.store.series("s").size, 0);
});
