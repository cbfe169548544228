import { assertEquals } from "../policy/asserts.ts";
import { pipeLines } from "../../runtime/supervisor/output.ts";
import { runDeno, wardenHome } from "./run.ts";

const audit = (...args: string[]) => runDeno(["task", "-q", "audit", ...args]);

Deno.test("audit CLI: verify, prove, verify --proof; a tampered log names its first bad entry", async () => {
  const dir = await Deno.makeTempDir();
  const log = `${dir}/audit.jsonl`;
  const r = await runDeno(["task", "-q", "run", "examples/research_agent.ts", "--audit", log]);
  assertEquals(r.code, 0, r.stderr);
  const ok = await audit("verify", log);
  assertEquals(ok.code, 0, ok.stderr);
  if (
    !/^ok: \d+ entries, hash chain intact, \d+ checkpoint\(s\) signed by did:key:z6Mk/.test(
      ok.stdout,
    )
  ) throw new Error(ok.stdout);
  const proof = await audit("prove", log, "3");
  assertEquals(proof.code, 0, proof.stderr);
  await Deno.writeTextFile(`${dir}/proof.json`, proof.stdout);
  const pv = await audit("verify", "--proof", `${dir}/proof.json`);
  assertEquals(pv.code, 0, pv.stderr);
  const lines = (await Deno.readTextFile(log)).trimEnd().split("\n");
  lines.splice(5, 1);
  await Deno.writeTextFile(log, lines.join("\n") + "\n");
  const bad = await audit("verify", log);
  assertEquals(bad.code, 1);
  if (!bad.stderr.startsWith(`${log}: first bad entry 5 (line 6): `)) throw new Error(bad.stderr);
  const missing = await audit("verify", `${dir}/nope.jsonl`);
  assertEquals([missing.code, missing.stderr.trim()], [1, `${dir}/nope.jsonl: no such file`]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("durability: kill -9 of the host loses no acknowledged decision", async () => {
  const dir = await Deno.makeTempDir();
  const log = `${dir}/audit.jsonl`;
  const host = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "runtime/cli/run.ts", "tests/cli/agents/acker.ts", "--audit", log],
    env: { WARDEN_HOME: wardenHome(), TMPDIR: dir }, // the killed host leaves its state in `dir`
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let acked = -1;
  await pipeLines(host.stdout, (l) => {
    const m = /^ack (\d+)$/.exec(l);
    if (!m) return;
    acked = Number(m[1]);
    if (acked === 300) host.kill("SIGKILL");
  });
  await host.status;
  const calls = (await Deno.readTextFile(log)).trimEnd().split("\n").map((l) => JSON.parse(l))
    .filter((e) => e.action === "tool.call" && e.resource === "noop");
  if (calls.length < acked + 1) {
    throw new Error(`${acked + 1} calls acknowledged, ${calls.length} in the log`);
  }
  await Deno.remove(dir, { recursive: true });
});
