/** SLO documents: compile, defaults, and YAML errors at file:line:col. */
import { assertEquals } from "../policy/asserts.ts";
import { formatProblem, PolicyError } from "../../governance/policy/errors.ts";
import {
  compileSlos,
  DEFAULT_ALERT_ROWS,
  formatDuration,
  parseDuration,
} from "../../governance/sre/mod.ts";

const HEAD = "apiVersion: warden/v1\nkind: SLOs\nname: t\nslos:\n";

function problems(text: string): string[] {
  try {
    compileSlos(text, "slo.yaml");
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    assertEquals(
      e.message.split("\n")[0],
      `${e.path}:${e.line}:${e.column}: ${e.problems[0].message}`,
    );
    return e.problems.map(formatProblem);
  }
  throw new Error("expected a PolicyError");
}

const one = (text: string, expected: string) => assertEquals(problems(text), [expected]);

Deno.test("durations", () => {
  assertEquals(parseDuration("30d"), 30 * 86_400_000);
  assertEquals(parseDuration("7d"), 7 * 86_400_000);
  assertEquals(parseDuration("1h"), 3_600_000);
  assertEquals(parseDuration("5m"), 300_000);
  assertEquals(parseDuration("60s"), 60_000);
  assertEquals(parseDuration("1.5h"), 5_400_000);
  assertEquals(parseDuration("250ms"), 250);
  for (const bad of ["", "5", "h", "-1h", "0s", "1w", "1 h x", "1e3s", "99999d"]) {
    assertEquals(parseDuration(bad), undefined, bad);
  }
  assertEquals(formatDuration(3 * 86_400_000), "3d");
  assertEquals(formatDuration(90_000), "90s");
});

Deno.test("compiles all three kinds, scopes, overrides and actions", () => {
  const doc = compileSlos(
    HEAD + [
      "  - name: host-success",
      "    kind: success",
      "    target: 0.999",
      "    window: 30d",
      "  - name: search-latency",
      "    kind: latency",
      "    scope: { tool: search }",
      "    threshold_ms: 300",
      "    target: 0.99",
      "    window: 7d",
      "    alerts:",
      "      - { severity: page, burn: 14.4, long: 60s, short: 5s }",
      "    actions: [alert, { throttle: { rate: 2.5 } }, demote, kill, freeze_rollouts]",
      "  - name: agent-compliance",
      "    kind: compliance",
      "    scope: { agent: a1 }",
      "    target: 0.95",
      "    window: 1h",
      "",
    ].join("\n"),
    "slo.yaml",
  );
  assertEquals(doc.name, "t");
  assertEquals(doc.slos.map((s) => [s.name, s.kind, s.scope, s.windowMs, s.errorBudget]), [
    ["host-success", "success", {}, 30 * 86_400_000, 0.001],
    ["search-latency", "latency", { tool: "search" }, 7 * 86_400_000, 0.01],
    ["agent-compliance", "compliance", { agent: "a1" }, 3_600_000, 0.05],
  ]);
  assertEquals(doc.slos[0].alerts, DEFAULT_ALERT_ROWS);
  assertEquals(doc.slos[0].actions, [{ type: "alert" }]);
  assertEquals(doc.slos[1].thresholdMs, 300);
  assertEquals(doc.slos[1].alerts, [{
    severity: "page",
    burn: 14.4,
    longMs: 60_000,
    shortMs: 5_000,
  }]);
  assertEquals(doc.slos[1].actions, [
    { type: "alert" },
    { type: "throttle", rate: 2.5 },
    { type: "demote" },
    { type: "kill" },
    { type: "freeze_rollouts" },
  ]);
});

const SLO = (body: string) => HEAD + "  - name: s\n    kind: success\n" + body;

Deno.test("bad duration", () => {
  one(
    SLO("    target: 0.99\n    window: 30x\n"),
    'slo.yaml:8:13: slos[0].window: invalid duration "30x" (expected a positive number with s, m, h or d, e.g. 30d)',
  );
  one(
    SLO(
      "    target: 0.99\n    window: 1h\n    alerts:\n      - { severity: page, burn: 2, long: 1h, short: soon }\n",
    ),
    'slo.yaml:10:53: slos[0].alerts[0].short: invalid duration "soon" (expected a positive number with s, m, h or d, e.g. 30d)',
  );
  one(
    SLO("    target: 0.99\n    window: 30\n"),
    "slo.yaml:8:13: slos[0].window: expected a duration such as 30s, 5m, 1h or 7d",
  );
  one(
    SLO(
      "    target: 0.99\n    window: 1h\n    alerts:\n      - { severity: page, burn: 2, long: 5m, short: 1h }\n",
    ),
    "slo.yaml:10:53: slos[0].alerts[0].short: the short window must be shorter than the long window",
  );
});

Deno.test("target must be inside (0, 1)", () => {
  for (const t of ["1", "1.0", "1.5"]) {
    one(
      SLO(`    target: ${t}\n    window: 1h\n`),
      "slo.yaml:7:13: slos[0].target: target must be less than 1 (a 100% SLO has no error budget)",
    );
  }
  one(
    SLO("    target: 0\n    window: 1h\n"),
    "slo.yaml:7:13: slos[0].target: target must be greater than 0",
  );
  one(
    SLO('    target: "99%"\n    window: 1h\n'),
    "slo.yaml:7:13: slos[0].target: expected a number between 0 and 1 (e.g. 0.99)",
  );
});

Deno.test("unknown action", () => {
  one(
    SLO("    target: 0.99\n    window: 1h\n    actions: [alert, reboot]\n"),
    'slo.yaml:9:22: slos[0].actions[1]: unknown action "reboot" (expected alert, throttle, demote, kill or freeze_rollouts)',
  );
  one(
    SLO("    target: 0.99\n    window: 1h\n    actions:\n      - alert\n      - throttle\n"),
    "slo.yaml:11:9: slos[0].actions[1]: throttle needs a rate: { throttle: { rate: N } }",
  );
  one(
    SLO("    target: 0.99\n    window: 1h\n    actions:\n      - throttle: { rate: 0 }\n"),
    "slo.yaml:10:27: slos[0].actions[0].throttle.rate: rate must be a positive number (operations per second)",
  );
  one(
    SLO("    target: 0.99\n    window: 1h\n    actions:\n      - nuke: { now: true }\n"),
    'slo.yaml:10:15: slos[0].actions[0].nuke: unknown action "nuke" (expected alert, throttle, demote, kill or freeze_rollouts)',
  );
});

Deno.test("unknown keys", () => {
  one(
    SLO("    target: 0.99\n    window: 1h\n    owner: me\n"),
    'slo.yaml:9:5: unknown key "owner" in slos[0]',
  );
  one(HEAD.replace("name: t", "nam: t") + "  []\n", 'slo.yaml:3:1: unknown key "nam"');
  one(
    SLO("    scope: { agent: a, host: h }\n    target: 0.99\n    window: 1h\n"),
    'slo.yaml:7:24: unknown key "host" in slos[0].scope',
  );
  one(
    SLO(
      "    target: 0.99\n    window: 1h\n    alerts:\n      - { severity: page, burn: 2, long: 1h, short: 5m, for: 2m }\n",
    ),
    'slo.yaml:10:57: unknown key "for" in slos[0].alerts[0]',
  );
});

Deno.test("other problems: kind, latency threshold, duplicates, YAML syntax, several at once", () => {
  one(
    HEAD.replace("kind: SLOs", "kind: Policy") + "  []\n",
    'slo.yaml:2:7: kind: expected "SLOs"',
  );
  one(
    HEAD + "  - name: l\n    kind: latency\n    target: 0.99\n    window: 1h\n",
    'slo.yaml:5:5: missing required key "threshold_ms" (latency SLO)',
  );
  one(
    SLO("    target: 0.99\n    window: 1h\n    threshold_ms: 5\n"),
    "slo.yaml:9:5: threshold_ms is only allowed on latency SLOs, not success",
  );
  one(
    SLO("    target: 0.99\n    window: 1h\n") +
      "  - { name: s, kind: success, target: 0.9, window: 1h }\n",
    'slo.yaml:9:13: duplicate SLO name "s"',
  );
  one(
    HEAD + "  - [\n",
    "slo.yaml:6:1: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]",
  );
  assertEquals(
    problems(
      SLO("    target: 1\n    window: 2y\n") +
        "  - { name: u, kind: success, target: 0.9, window: 1h, actions: [boom] }\n",
    ),
    [
      "slo.yaml:7:13: slos[0].target: target must be less than 1 (a 100% SLO has no error budget)",
      'slo.yaml:8:13: slos[0].window: invalid duration "2y" (expected a positive number with s, m, h or d, e.g. 30d)',
      'slo.yaml:9:66: slos[1].actions[0]: unknown action "boom" (expected alert, throttle, demote, kill or freeze_rollouts)',
    ],
  );
});
