/**
 * An agent's arguments and `env.get` values: arguments reach `Deno.args` verbatim and never
 * become Deno flags; `env.get` values are decided by the policy, audited, and never put in the
 * agent process's real environment; every way in refuses names, counts and sizes past the
 * limits (runtime/host/agent_input.ts). `deno task run --env … -- ARGS…` end to end.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { AGENT_INPUT_LIMITS, envFromFlags } from "../../runtime/host/agent_input.ts";
import { collectRun, describe, newHost } from "./helpers.ts";
import { runDeno } from "../cli/run.ts";

const PROBE = new URL("./agents/args_env/probe.ts", import.meta.url).pathname;

interface Probe {
  args: string[];
  sdk: Record<string, { value?: string | null; code?: string; rule?: string | null }>;
  process: Record<string, { value?: string | null; error?: string }>;
  runPermission: string;
  readRoot: string;
  spawn: string;
}

function probeOf(stdout: string): Probe {
  const line = stdout.split("\n").find((l) => l.startsWith("PROBE "));
  if (!line) throw new Error(`the probe printed no report:\n${stdout}`);
  return JSON.parse(line.slice("PROBE ".length)) as Probe;
}

/** Arguments that look like Deno flags, separators, shell syntax, newlines, nothing at all. */
const HOSTILE_ARGS = [
  "--allow-all",
  "-A",
  "--",
  "--ring=0",
  "--unsafe-no-sandbox",
  "line one\nline two",
  "$HOME `id` $(id) ;|&",
  "",
  "ünïcødé ✓",
];

function assertProbe(p: Probe, args: string[], secret: string): void {
  assertEquals(p.args, args);
  assertEquals(p.sdk.WARDEN_TASK, { value: "task-value" });
  // Allowed by the policy but never given: null, not the host's own environment.
  assertEquals(p.sdk.LANG, { value: null });
  // Given, but the policy does not allow reading it: refused, value never delivered.
  assertEquals(p.sdk.SECRET_TOKEN.code, "denied");
  assertEquals(p.sdk.__proto__.code, "denied");
  // The values are the SDK's, not the process's: the real environment holds none of them.
  assertEquals(p.process.WARDEN_TASK, { value: null });
  assert(p.process.SECRET_TOKEN.value !== secret, "SECRET_TOKEN leaked into the environment");
  assert(p.runPermission !== "granted", `an argument became a Deno flag: run ${p.runPermission}`);
  assert(p.readRoot !== "granted", `an argument became a Deno flag: read / ${p.readRoot}`);
  assert(p.spawn !== "spawned", "the agent started a process");
}

Deno.test("arguments reach Deno.args verbatim; env.get values are decided and never in the process environment", async () => {
  const ws = await Deno.makeTempDir({ prefix: "warden-args-env-" });
  const host = newHost();
  const secret = `S3CRET-${crypto.randomUUID()}`;
  try {
    const handle = await host.start({
      module: PROBE,
      workspace: ws,
      args: HOSTILE_ARGS,
      env: Object.fromEntries([
        ["WARDEN_TASK", "task-value"],
        ["SECRET_TOKEN", secret],
        ["__proto__", "proto-value"],
      ]),
      timeoutMs: 30_000,
    });
    const run = await collectRun(host, handle);
    assertEquals(run.exit.code, 0, describe(run));
    assertProbe(probeOf(run.stdout), HOSTILE_ARGS, secret);
    assert(!run.stdout.includes(secret), "the secret value reached the agent's output");
    const envAudit = run.audit.filter((e) => e.action === "env.get" && e.path === "sdk");
    const effect = (name: string) => envAudit.find((e) => e.resource === name)?.effect;
    assertEquals(effect("WARDEN_TASK"), "allow");
    assertEquals(effect("LANG"), "allow");
    assertEquals(effect("SECRET_TOKEN"), "deny");
    assert(envAudit.find((e) => e.resource === "SECRET_TOKEN")?.reason, "a denial says why");
  } finally {
    await host.close();
    await Deno.remove(ws, { recursive: true });
  }
});

Deno.test("the host refuses env values and arguments past the limits, whoever starts the agent", async () => {
  const ws = await Deno.makeTempDir({ prefix: "warden-args-env-" });
  const host = newHost();
  const many = (n: number) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, ""]));
  const cases: [string, { env?: Record<string, string>; args?: string[] }, RegExp][] = [
    ["bad name", { env: { "1BAD": "x" } }, /env name "1BAD" is not a variable name/],
    ["empty name", { env: { "": "x" } }, /env name "" is not a variable name/],
    ["name with =", { env: { "A=B": "x" } }, /not a variable name/],
    ["huge value", { env: { BIG: "x".repeat(AGENT_INPUT_LIMITS.envValueChars + 1) } }, /BIG/],
    ["too many values", { env: many(AGENT_INPUT_LIMITS.envCount + 1) }, /env values/],
    ["NUL in an argument", { args: ["ok", "a\0b"] }, /argument 2 contains a NUL/],
    ["huge argument", { args: ["y".repeat(AGENT_INPUT_LIMITS.argChars + 1)] }, /argument 1/],
    ["too many arguments", { args: Array(AGENT_INPUT_LIMITS.args + 1).fill("a") }, /arguments/],
  ];
  try {
    for (const [what, input, expected] of cases) {
      let message = "";
      try {
        const h = await host.start({ module: PROBE, workspace: ws, timeoutMs: 30_000, ...input });
        await h.exited;
      } catch (e) {
        message = (e as Error).message;
      }
      assert(message.startsWith("cannot start agent probe: "), `${what}: started (${message})`);
      assert(expected.test(message), `${what}: ${message}`);
      assert(!message.includes("\n"), `${what}: one line`);
    }
  } finally {
    await host.close();
    await Deno.remove(ws, { recursive: true });
  }
});

Deno.test("--env flags: NAME=VALUE, the value after the first =, refusals name the flag", () => {
  assertEquals(envFromFlags([]), {});
  assertEquals(envFromFlags(["A=1", "B=", "C=x=y", "D= spaced ", "E=line\nnext"]), {
    A: "1",
    B: "",
    C: "x=y",
    D: " spaced ",
    E: "line\nnext",
  });
  const proto = envFromFlags(["__proto__=p"]);
  assert(typeof proto === "object" && Object.hasOwn(proto, "__proto__"), "__proto__ kept");
  const refused: [string[], RegExp][] = [
    [["NOEQUALS"], /^--env "NOEQUALS": expected NAME=VALUE$/],
    [["=x"], /^--env "=x": the name is empty$/],
    [["1A=x"], /^--env: env name "1A" is not a variable name/],
    [["A-B=x"], /not a variable name/],
    [["A B=x"], /not a variable name/],
    [["A\nB=x"], /not a variable name/],
    [["A=1", "A=2"], /^--env A: given twice$/],
    [["A=" + "v".repeat(AGENT_INPUT_LIMITS.envValueChars + 1)], /^--env: env A: the value has/],
    [Array.from({ length: AGENT_INPUT_LIMITS.envCount + 1 }, (_, i) => `V${i}=`), /env values/],
  ];
  for (const [flags, expected] of refused) {
    const r = envFromFlags(flags);
    assert(typeof r === "string" && expected.test(r), `${JSON.stringify(flags)}: ${String(r)}`);
  }
  // A refusal of a huge flag stays one short line.
  const long = envFromFlags(["x".repeat(100_000)]);
  assert(typeof long === "string" && long.length < 200, "short refusal");
});

Deno.test("deno task run --env NAME=VALUE -- ARGS…: arguments after -- are the agent's, never flags", async () => {
  const ws = await Deno.makeTempDir({ prefix: "warden-args-env-cli-" });
  const secret = `S3CRET-${crypto.randomUUID()}`;
  const audit = join(ws, "..", `${ws.split("/").pop()}-audit.jsonl`);
  try {
    const r = await runDeno([
      "task",
      "-q",
      "run",
      PROBE,
      "--workspace",
      ws,
      "--audit",
      audit,
      "--env",
      "WARDEN_TASK=task-value",
      "--env",
      `SECRET_TOKEN=${secret}`,
      "--env",
      "__proto__=proto-value",
      // A loader variable is only an env.get value: it never steers the agent process.
      "--env",
      "LD_PRELOAD=/nonexistent/evil.so",
      "--",
      ...HOSTILE_ARGS,
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertProbe(probeOf(r.stdout), HOSTILE_ARGS, secret);
    assert(r.stderr.includes("warden: DENY  probe env.get SECRET_TOKEN"), r.stderr);
    assert(!r.stdout.includes(secret) && !r.stderr.includes(secret), "the value leaked");
    assert(!r.stderr.includes("evil.so"), `the loader saw LD_PRELOAD:\n${r.stderr}`);
    const entries = Deno.readTextFileSync(audit).trim().split("\n").map((l) => JSON.parse(l));
    assert(
      entries.some((e) =>
        e.action === "env.get" && e.resource === "SECRET_TOKEN" && e.effect === "deny"
      ),
      "the denial is audited",
    );
    assert(!Deno.readTextFileSync(audit).includes(secret), "the audit never holds the value");
  } finally {
    await Deno.remove(ws, { recursive: true });
    await Deno.remove(audit).catch(() => {});
  }
});

Deno.test("deno task run: bad --env flags and an agent flag before -- are usage errors (exit 2)", async () => {
  const cases: [string[], RegExp][] = [
    [["--env", "NOEQUALS"], /--env "NOEQUALS": expected NAME=VALUE/],
    [["--env", "=x"], /the name is empty/],
    [["--env", "9X=1"], /not a variable name/],
    [["--env", "A=1", "--env", "A=2"], /--env A: given twice/],
    [["--env", `A=${"v".repeat(AGENT_INPUT_LIMITS.envValueChars + 1)}`], /the value has/],
    [["--allow-all"], /unknown flag --allow-all/],
  ];
  for (const [flags, expected] of cases) {
    const r = await runDeno(["task", "-q", "run", PROBE, ...flags, "--", "x"]);
    assertEquals(r.code, 2, `${flags.join(" ").slice(0, 80)}: ${r.stderr}`);
    const first = r.stderr.split("\n")[0];
    assert(expected.test(first), `${flags.join(" ").slice(0, 80)}: ${first}`);
    assert(!/^\s+at /m.test(r.stderr), "no stack trace");
    assert(!r.stdout.includes("PROBE"), "the agent did not run");
  }
});
