import { assertEquals } from "../policy/asserts.ts";
import { verifyChain } from "../../governance/audit/mod.ts";
import { runDeno } from "./run.ts";

const run = (...args: string[]) => runDeno(["task", "-q", "run", ...args]);

Deno.test("run: a benign agent exits 0 and its stdout is streamed", async () => {
  const r = await run("examples/research_agent.ts");
  assertEquals(r.code, 0, r.stderr);
  if (!r.stdout.includes("research done")) throw new Error(r.stdout);
  if (r.stderr.includes("experimental feature")) throw new Error("broker banner leaked");
});

Deno.test("run: the rogue agent is denied everything; trust (in memory) demotes, then kills it (137), audited to --audit", async () => {
  const dir = await Deno.makeTempDir();
  const audit = `${dir}/audit.jsonl`;
  // A fresh WARDEN_HOME: trust persists, and a rogue that already burned it would be refused.
  const home = { WARDEN_HOME: await Deno.makeTempDir() };
  const args = [
    "task",
    "-q",
    "run",
    "examples/rogue_agent.ts",
    "--timeout",
    "2000",
    "--audit",
    audit,
  ];
  const r = await runDeno(args, undefined, home);
  assertEquals(r.code, 137, r.stderr);
  if (r.stdout.includes("SUCCEEDED")) throw new Error(r.stdout);
  for (
    const s of [
      "warden: DENY  rogue_agent fs.read /etc/shadow",
      "trust: ring 2 -> 3",
      "warden: KILLED rogue_agent: trust revoked: score",
    ]
  ) {
    if (!r.stderr.includes(s)) throw new Error(`missing "${s}" in\n${r.stderr}`);
  }
  const entries = (await Deno.readTextFile(audit)).trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(verifyChain(entries).bad, -1);
  if (!entries.some((e) => e.action === "agent.kill" && e.reason.includes("trust revoked"))) {
    throw new Error("kill not audited");
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("run: --json prints decisions and events as JSON lines; exit codes propagate", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/exit3.ts`, 'console.log("bye"); Deno.exit(3);\n');
  const r = await run(`${dir}/exit3.ts`, "--json");
  assertEquals(r.code, 3, r.stderr);
  const lines = r.stderr.trim().split("\n").map((l) => JSON.parse(l));
  if (!lines.some((l) => l.decision?.action === "import")) throw new Error(r.stderr);
  if (!lines.some((l) => l.event?.type === "exit" && l.event.code === 3)) throw new Error(r.stderr);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("run: operator mistakes get one clear line and no stack trace", async () => {
  const bad = await run("nope.ts");
  assertEquals([bad.code, bad.stderr.trim()], [1, "agent module not found: nope.ts"]);
  const ring = await run("examples/research_agent.ts", "--ring", "7");
  assertEquals(ring.code, 2);
  if (!ring.stderr.startsWith('--ring: expected an integer 0-3, got "7"')) {
    throw new Error(ring.stderr);
  }
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/p.yaml`,
    "apiVersion: warden/v1\nkind: Policy\nname: p\nrules:\n  - { id: a, effect: alow, action: fs.read }\n",
  );
  const pol = await run("examples/research_agent.ts", "--policy", `${dir}/p.yaml`);
  assertEquals(pol.code, 1);
  if (!pol.stderr.startsWith(`${dir}/p.yaml:5:22: rules[0].effect`)) throw new Error(pol.stderr);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("demo: runs the example agents and the MCP act, and checks its own summary", async () => {
  const r = await runDeno(["task", "-q", "demo"]);
  assertEquals(r.code, 0, r.stdout + r.stderr);
  for (
    const s of [
      "KILL rogue: trust revoked",
      "KILL spinner: timeout",
      "loot received by the exfiltration endpoint: 0",
      "hash chain verified",
      "hidden, never allowed: delete_notes",
      "3 of 5 calls refused; notes intact: true",
    ]
  ) {
    if (!r.stdout.includes(s)) throw new Error(`missing "${s}" in demo output`);
  }
});

Deno.test("run --trust: the rogue is demoted at its critical violation, restarted at ring 3, and refused next time", async () => {
  const dir = await Deno.makeTempDir();
  const args = ["examples/rogue_agent.ts", "--timeout", "3000", "--trust", `${dir}/trust.json`];
  const r = await run(...args);
  if (!r.stderr.includes("agent.ring 3") || !r.stderr.includes("trust: ring 2 -> 3")) {
    throw new Error(r.stderr);
  }
  if (!r.stderr.includes("ring ceiling: ring 3 does not allow")) throw new Error(r.stderr);
  assertEquals(r.code, 137, r.stderr);
  const again = await run(...args);
  assertEquals(again.code, 1, again.stderr);
  if (!again.stderr.includes("trust revoked")) throw new Error(again.stderr);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("run: a .cedar policy governs a sandboxed agent end to end (forbid wins, audited)", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/probe.cedar`,
    `@id("ok-var") permit (principal, action == Action::"env.get", resource == Resource::"CEDAR_OK");
@id("no-home") forbid (principal, action == Action::"env.get", resource) when { resource.value like "HOME*" };
@id("all-env") permit (principal, action == Action::"env.get", resource);
`,
  );
  const audit = `${dir}/audit.jsonl`;
  const r = await runDeno(
    [
      "task",
      "-q",
      "run",
      "tests/cli/agents/cedar_probe.ts",
      "--policy",
      `${dir}/probe.cedar`,
      "--audit",
      audit,
    ],
    undefined,
    { WARDEN_HOME: dir },
  );
  assertEquals(r.code, 0, r.stderr);
  if (r.stdout.includes("CEDAR_OK denied")) throw new Error(r.stdout);
  if (!r.stdout.includes('HOME denied: denied by Cedar policy "no-home"')) {
    throw new Error(r.stdout);
  }
  const entries = (await Deno.readTextFile(audit)).trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(verifyChain(entries).bad, -1);
  const envs = entries.filter((e) => e.action === "env.get")
    .map((e) => `${e.resource} ${e.effect} ${e.rule}`);
  assertEquals(envs, ["CEDAR_OK allow all-env", "HOME deny no-home"]);
  await Deno.remove(dir, { recursive: true });
});
