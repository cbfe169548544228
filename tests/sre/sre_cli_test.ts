/** `deno task run --slo --chaos` then `deno task sre status`. */
import { assertEquals } from "../policy/asserts.ts";
import { runDeno } from "../cli/run.ts";

Deno.test("sre status shows the SLOs, budgets, alerts and breakers of the last run; chaos prints its report", async () => {
  const home = await Deno.makeTempDir();
  const env = { WARDEN_HOME: home };
  await Deno.writeTextFile(
    `${home}/slo.yaml`,
    "apiVersion: warden/v1\nkind: SLOs\nslos:\n  - { name: tools-succeed, kind: success, target: 0.99, window: 1h, actions: [alert] }\n",
  );
  await Deno.writeTextFile(
    `${home}/chaos.json`,
    JSON.stringify({
      enabled: true,
      seed: 3,
      faults: [{ percent: 100, kind: "error", message: "chaos" }],
    }),
  );
  const r = await runDeno(
    [
      "task",
      "-q",
      "run",
      "examples/research_agent.ts",
      "--slo",
      `${home}/slo.yaml`,
      "--chaos",
      `${home}/chaos.json`,
    ],
    undefined,
    env,
  );
  if (
    !/warden: chaos: \d+ of \d+ calls hit .*resilience score 0 \(held: -; broken: tools-succeed\)/
      .test(r.stderr)
  ) throw new Error(r.stderr);
  const s = await runDeno(["task", "-q", "sre", "status"], undefined, env);
  assertEquals(s.code, 0, s.stderr);
  for (
    const want of [
      "BREACHED tools-succeed",
      "Circuit breakers:",
      "tool:search",
      "Chaos resilience score: 0",
    ]
  ) {
    if (!s.stdout.includes(want)) throw new Error(`missing "${want}" in\n${s.stdout}`);
  }
  const none = await runDeno(["task", "-q", "sre", "status", "--state", `${home}/nope`]);
  assertEquals(none.code, 1);
  await Deno.remove(home, { recursive: true });
});
