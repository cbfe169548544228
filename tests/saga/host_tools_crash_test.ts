/**
 * Exactly-once with `--host-tools`: the real `deno task run` host is killed (SIGKILL) while a
 * saga step's framework tool is in flight; the next host resumes the saga, and every step's
 * effect happens exactly once, keyed by the saga's own idempotency keys (not a per-process
 * counter that a new process restarts).
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { runDeno } from "../cli/run.ts";
import { killAtEffect, readLedger } from "./ledger_tools.ts";

const root = new URL("../../", import.meta.url).pathname;
const RUN = ["run", "--quiet", "-A", "runtime/cli/run.ts"]; // what `deno task run` runs
const FLAGS = [
  "--host-tools",
  "tests/saga/host_tools/ledger_host_tools.ts",
  "--policy",
  "tests/saga/host_tools/policy.yaml",
];

Deno.test("host tools: kill -9 the host mid-step, resume: each idempotency key's effect exactly once", async () => {
  const home = Deno.makeTempDirSync({ prefix: "warden-home-" });
  const ledger = join(home, "ledger.jsonl");
  const env = { NO_COLOR: "1", WARDEN_HOME: home, LEDGER_PATH: ledger };
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN, "tests/saga/agents/ship_saga.ts", ...FLAGS],
    cwd: root,
    env: { ...env, LEDGER_HANG_SHIP: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  // `ship` has taken effect and hangs: kill the host there.
  const status = await killAtEffect(child, ledger, (l) => l.tool === "ship");
  assertEquals(status.signal, "SIGKILL", await stderr);

  const list = () => runDeno(["task", "-q", "saga", "list", "--state", home], undefined, env);
  const before = (await list()).stdout.trim().split(/\s+/);
  assertEquals(before[1], "running");
  const id = before[0];

  // The next host resumes the saga; its agent waits until the journal says completed.
  const again = await runDeno(
    [...RUN, "tests/saga/agents/await_saga.ts", ...FLAGS],
    undefined,
    env,
  );
  assertEquals(again.code, 0, again.stderr);
  assertEquals((await list()).stdout.trim().split(/\s+/).slice(0, 3), [id, "completed", "3/3"]);

  const lines = readLedger(ledger);
  const effects = lines.filter((l) => l.event === "effect").map((l) => `${l.tool} ${l.key}`);
  assertEquals(effects, [`reserve ${id}:0:do`, `ship ${id}:1:do`, `notify ${id}:2:do`]);
  const calls = lines.filter((l) => l.event === "call").map((l) => `${l.tool} ${l.key}`);
  // Only the in-flight step ran twice, with the same key.
  assertEquals(calls, [
    `reserve ${id}:0:do`,
    `ship ${id}:1:do`,
    `ship ${id}:1:do`,
    `notify ${id}:2:do`,
  ]);
  Deno.removeSync(home, { recursive: true });
});
