/**
 * Compatible refusals (issue 19): a program reading a variable it does not have sees it unset,
 * the decision still made and audited; it has a home of its own; real refusals still throw.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { loadPolicy } from "../../runtime/policy/loader.ts";
import { collectRun, describe, newHost } from "./helpers.ts";
import { canSetHostname } from "../../runtime/supervisor/spawn.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const AGENT = new URL("./agents/escape/env_probe.ts", import.meta.url).pathname;

Deno.test("env probes of unset variables read as unset (audited deny, no trust cost); real refusals throw", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-compat-" }));
  const trap = join(tmp, "trap.yaml");
  Deno.writeTextFileSync(
    trap,
    [
      "apiVersion: warden/v1",
      "kind: Policy",
      "name: trap",
      "rules:",
      "  - id: no-trap",
      "    effect: deny",
      "    action: env.get",
      "    resource: TRAP_VAR",
      "    severity: low",
      "    reason: a honeypot variable",
      "",
    ].join("\n"),
  );
  const host = newHost({
    policy: loadPolicy([join(ROOT, "policies/agents.yaml"), trap], { builtin: true }),
  });
  const ws = join(tmp, "ws");
  Deno.mkdirSync(ws);
  try {
    const handle = await host.start({
      module: AGENT,
      workspace: ws,
      timeoutMs: 60_000,
      processEnv: { OPERATOR_SECRET: "s3cret" },
    });
    const run = await collectRun(host, handle);
    const by = Object.fromEntries(run.attempts.map((a) => [a.step, a]));
    const home = join(ws, ".warden-home");
    assertEquals(run.done, true, describe(run));
    assertEquals(by["Deno.env.get(unset)"].value, "undefined", describe(run));
    assertEquals(by["process.env.FORCE_COLOR"].value, "undefined");
    assertEquals(by["'TF_BUILD' in process.env"].value, "false");
    assertEquals(by["Deno.env.has(LANGSMITH_TRACING)"].value, "false");
    assertEquals(by["os.homedir()"].value, home, describe(run));
    assertEquals(by["Deno.env.get(HOME)"].value, home);
    assertEquals(by["os.tmpdir()"].value, join(ws, ".warden-tmp"), describe(run));
    // A hostname of its own (a UTS namespace), never the host's, where the host can make one.
    if (canSetHostname()) assertEquals(by["os.hostname()"].value, "warden-env-probe");
    else assertEquals(by["os.hostname()"].error, "NotCapable");
    assertEquals(by["os.hostname()"].value === Deno.hostname(), false);
    assertEquals(by["write in HOME"].value, "written", describe(run));
    assertEquals(Deno.readTextFileSync(join(home, ".cache/lib/x")), "ok");
    // A variable the process has, not allowed: refused (the value never reaches the program).
    assertEquals(by["Deno.env.get(OPERATOR_SECRET)"].ok, false);
    assertEquals(by["Deno.env.get(OPERATOR_SECRET)"].error, "NotCapable");
    // The enumeration would reveal the secret: refused, the secret decided as part of it.
    assertEquals(by["Object.keys(process.env)"].error, "NotCapable", describe(run));
    const enumerated = run.audit.find((e) => e.resource === "OPERATOR_SECRET" && e.enumerated);
    assertEquals(enumerated?.effect, "deny", describe(run));
    // Denied by a rule with a severity: throws although the variable is unset.
    assertEquals(by["Deno.env.get(TRAP_VAR)"].error, "NotCapable");
    // Every probe was decided and audited: the unset ones as denies marked `unset`.
    const env = (name: string) =>
      run.audit.filter((e) => e.path === "broker" && e.action === "env.get" && e.resource === name);
    const unset = env("WARDEN_SURELY_UNSET");
    assertEquals(unset.length > 0, true, describe(run));
    assertEquals(unset.every((e) => e.effect === "deny" && e.unset === true), true);
    // (Deno reads FORCE_COLOR for node:process without a permission check.)
    assertEquals([env("TF_BUILD")[0]?.unset, env("LANGSMITH_TRACING")[0]?.unset], [true, true]);
    const homedir = run.audit.find((e) => e.action === "sys" && e.resource === "homedir");
    assertEquals(homedir?.rule, "warden-synthetic-home");
    assertEquals(env("OPERATOR_SECRET")[0]?.unset, undefined);
    assertEquals(env("TRAP_VAR")[0]?.rule, "no-trap");
    // Trust: the unset probes cost nothing; the secret read (-5) and the trap (low) do.
    const score = host.trust.score(handle.id);
    // 650 at start, -5 for the secret read, -5 for it again in the enumeration, -15 for the
    // low-severity trap (the unset probes and the enumeration itself would have cost another
    // 20), plus what the allowed checks earn.
    assertEquals(score > 624 && score < 630, true, `trust ${score}`);
  } finally {
    await host.close();
    await Deno.remove(tmp, { recursive: true });
  }
});
