/** Multiwindow, multi-burn-rate alerts on a simulated clock with scaled windows. */
import { assertEquals } from "../policy/asserts.ts";
import {
  alertFiring,
  type AlertRow,
  compileSlos,
  DEFAULT_ALERT_ROWS,
  formatDuration,
  SloMonitor,
} from "../../governance/sre/mod.ts";

/** The Workbook rows scaled down: 1h/5m -> 60s/5s, 6h/30m -> 360s/30s, 3d/6h -> 720s/60s. */
const ROWS: AlertRow[] = [
  { severity: "page", burn: 14.4, longMs: 60_000, shortMs: 5_000 },
  { severity: "page", burn: 6, longMs: 360_000, shortMs: 30_000 },
  { severity: "ticket", burn: 1, longMs: 720_000, shortMs: 60_000 },
];

function monitor(rows: AlertRow[]): SloMonitor {
  const alerts = rows.map((r) =>
    `      - { severity: ${r.severity}, burn: ${r.burn}, long: ${
      formatDuration(r.longMs)
    }, short: ${formatDuration(r.shortMs)} }`
  ).join("\n");
  const { slos } = compileSlos(
    `apiVersion: warden/v1
kind: SLOs
slos:
  - name: s
    kind: success
    target: 0.99
    window: 720s
    alerts:
${alerts}
    actions: [alert, demote]
`,
    "s.yaml",
  );
  return new SloMonitor(slos, { bucketMs: 1_000 });
}

/** 100 events a second in [fromS, toS), `bad` of each hundred failing. */
function feed(m: SloMonitor, fromS: number, toS: number, bad: number): void {
  for (let s = fromS; s < toS; s++) {
    for (let i = 0; i < 100; i++) m.record({ at: s * 1_000 + 500, ok: i >= bad });
  }
}

/** Evaluate at the very end of second `s - 1` (windows then end on whole buckets). */
const at = (m: SloMonitor, s: number) => m.evaluate(s * 1_000 - 1)[0];

Deno.test("defaults are the Workbook rows", () => {
  assertEquals(DEFAULT_ALERT_ROWS.map((r) => [r.severity, r.burn, r.longMs, r.shortMs]), [
    ["page", 14.4, 3_600_000, 300_000],
    ["page", 6, 21_600_000, 1_800_000],
    ["ticket", 1, 259_200_000, 21_600_000],
  ]);
});

for (const [i, row] of ROWS.entries()) {
  const L = row.longMs / 1_000;
  const S = row.shortMs / 1_000;
  const hot = Math.ceil(1.5 * row.burn); // bad per hundred: burn 1.5x the threshold
  const name = `row ${i} (${row.severity} ${row.burn}x ${L}s/${S}s)`;

  Deno.test(`${name}: fires when both windows are hot, resolves when the short cools`, () => {
    const m = monitor([row]);
    feed(m, 0, L, hot);
    let st = at(m, L);
    assertEquals(st.alerts[0].longBurn, hot);
    assertEquals(st.alerts[0].shortBurn, hot);
    assertEquals(st.alerts[0].firing, true);
    assertEquals([st.breached, st.severity, st.actions.length], [true, row.severity, 2]);
    feed(m, L, L + S, 0); // a clean short window
    st = at(m, L + S);
    assertEquals(st.alerts[0].shortBurn, 0);
    assertEquals(st.alerts[0].longBurn >= row.burn, true, "long window still hot");
    assertEquals(st.alerts[0].firing, false);
    assertEquals(st.severity, undefined);
    feed(m, L + S, L + 2 * S, hot); // hot again: both windows hot, fires again
    assertEquals(at(m, L + 2 * S).alerts[0].firing, true);
  });

  Deno.test(`${name}: only the long window hot does not fire`, () => {
    const m = monitor([row]);
    feed(m, 0, L - S, hot);
    feed(m, L - S, L, 0);
    const a = at(m, L).alerts[0];
    assertEquals([a.longBurn >= row.burn, a.shortBurn, a.firing], [true, 0, false]);
  });

  Deno.test(`${name}: only the short window hot does not fire`, () => {
    const m = monitor([row]);
    const spike = Math.ceil(2 * row.burn);
    feed(m, 0, L - S, 0);
    feed(m, L - S, L, spike);
    const a = at(m, L).alerts[0];
    assertEquals(a.shortBurn, spike);
    assertEquals([a.longBurn < row.burn, a.firing], [true, false]);
  });

  Deno.test(`${name}: threshold is inclusive, just below does not fire`, () => {
    const m = monitor([row]);
    // exactly at the threshold: burn*1 bad per hundred (14.4 -> 144 per thousand)
    for (let s = 0; s < L; s++) {
      for (let k = 0; k < 1_000; k++) m.record({ at: s * 1_000 + 1, ok: k >= row.burn * 10 });
    }
    const a = at(m, L).alerts[0];
    assertEquals([a.longBurn, a.shortBurn, a.firing], [row.burn, row.burn, true]);
    const b = monitor([row]);
    for (let s = 0; s < L; s++) {
      for (let k = 0; k < 1_000; k++) b.record({ at: s * 1_000 + 1, ok: k >= row.burn * 10 - 1 });
    }
    assertEquals(at(b, L).alerts[0].firing, false);
  });
}

Deno.test("all rows together: a fast burn pages on row 0 only, a slow burn tickets", () => {
  const m = monitor(ROWS);
  feed(m, 0, 60, 20); // burn 20 for 60 s; the 6h-scaled long window holds only 60 s of data
  let st = at(m, 60);
  assertEquals(st.alerts.map((a) => a.firing), [true, true, true]);
  assertEquals(st.severity, "page");
  const m2 = monitor(ROWS);
  feed(m2, 0, 720, 2); // burn 2 for the whole 720 s window
  st = at(m2, 720);
  assertEquals(st.alerts.map((a) => a.firing), [false, false, true]);
  assertEquals(st.severity, "ticket");
  assertEquals(st.budget.consumed, 2);
  assertEquals(st.breached, true);
});

Deno.test("no traffic: burn 0, nothing fires, budget untouched", () => {
  const st = at(monitor(ROWS), 1_000);
  assertEquals(st.alerts.map((a) => [a.longBurn, a.shortBurn, a.firing]), [
    [0, 0, false],
    [0, 0, false],
    [0, 0, false],
  ]);
  assertEquals([st.budget.consumed, st.budget.remaining, st.breached], [0, 1, false]);
});

Deno.test("resolution is driven by the short window (hysteresis)", () => {
  const row = ROWS[0];
  assertEquals(alertFiring(row, 20, 20, false), true);
  assertEquals(alertFiring(row, 10, 20, false), false, "long cold: does not start");
  assertEquals(
    alertFiring(row, 10, 20, true),
    true,
    "already firing: keeps firing while short is hot",
  );
  assertEquals(alertFiring(row, 20, 10, true), false, "short cold: resolves");
  assertEquals(alertFiring(row, 20, 10, false), false);
});
