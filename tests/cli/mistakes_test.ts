/**
 * Issue 18's operator mistakes, one by one: each is one line naming the flag or file and the
 * right exit code (1 for a file or a refusal, 2 for usage), never a stack trace, and never a
 * side effect (no directory made, no key created, no benchmark run).
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { freePort, spawnHost } from "../server/host_process.ts";
import { type Ran, runDeno, wardenHome } from "./run.ts";
import { BENCH_GROUPS } from "../bench/cli.ts";

const task = (args: string[], env: Record<string, string> = {}) =>
  runDeno(["task", "-q", ...args], undefined, env);

/** Exit `code`, stderr matching `want`, at most `lines` lines before any usage, no stack. */
function oneLine(r: Ran, code: number, want: RegExp, what: string): void {
  const all = r.stdout + r.stderr;
  assert(!/^ {4}at /m.test(all) && !all.includes("error: Uncaught"), `${what}: stack\n${all}`);
  assertEquals(r.code, code, `${what}: ${all}`);
  const first = r.stderr.split("\n")[0];
  assert(want.test(first), `${what}: first line "${first}" does not match ${want}`);
}

function tmp(): string {
  return Deno.makeTempDirSync({ prefix: "warden-mistakes-" });
}

Deno.test("saga list works under its task's permissions (WARDEN_HOME), empty or not", async () => {
  const home = tmp();
  const r = await task(["saga", "list"], { WARDEN_HOME: home });
  assertEquals([r.code, r.stderr], [0, ""]);
  Deno.removeSync(home, { recursive: true });
});

Deno.test("--audit at an unwritable path names the flag in run, host and mcp-gateway", async () => {
  const bad = "/proc/no-such-dir/audit.jsonl";
  const want = /^--audit \/proc\/no-such-dir\/audit\.jsonl: cannot write/;
  oneLine(await task(["run", "examples/research_agent.ts", "--audit", bad]), 1, want, "run");
  oneLine(
    await task(["mcp-gateway", "--server", "examples/mcp/notes.ts", "--audit", bad]),
    1,
    want,
    "mcp-gateway",
  );
  const home = tmp();
  oneLine(
    await task(["host", "--port", "0", "--audit", bad], { WARDEN_HOME: home }),
    1,
    want,
    "host",
  );
  Deno.removeSync(home, { recursive: true });
});

Deno.test("host: a bad --port is a usage error; a port in use is one line, nothing written", async () => {
  oneLine(await task(["host", "--port", "abc"]), 2, /^--port: expected an integer/, "port abc");
  oneLine(await task(["host", "--port", "70000"]), 2, /^--port: /, "port 70000");
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const home = tmp();
  try {
    const port = String((l.addr as Deno.NetAddr).port);
    const r = await task(["host", "--port", port], { WARDEN_HOME: home });
    oneLine(r, 1, /^port \d+ is in use/, "port in use");
    assertEquals([...Deno.readDirSync(home)].length, 0, "nothing written");
  } finally {
    l.close();
    Deno.removeSync(home, { recursive: true });
  }
});

Deno.test("approvals against a server that does not answer JSON: one line", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response("<html>not a warden host</html>", { headers: { "content-type": "text/html" } }),
  );
  try {
    const env = { WARDEN_API: `http://127.0.0.1:${server.addr.port}`, WARDEN_TOKEN: "t" };
    oneLine(await task(["approvals", "list"], env), 1, /the reply is not JSON/, "html");
    oneLine(await task(["approvals", "approve", "x1"], env), 1, /the reply is not JSON/, "approve");
  } finally {
    await server.shutdown();
  }
  const shaped = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json({ pending: "no" }),
  );
  try {
    const env = { WARDEN_API: `http://127.0.0.1:${shaped.addr.port}`, WARDEN_TOKEN: "t" };
    oneLine(await task(["approvals", "list"], env), 1, /unexpected reply/, "wrong shape");
  } finally {
    await shaped.shutdown();
  }
});

Deno.test("sre status on a wrong-shaped status file names the file and the field", async () => {
  const dir = tmp();
  Deno.writeTextFileSync(join(dir, "sre-status.json"), JSON.stringify({ at: "now", slos: 3 }));
  oneLine(
    await task(["sre", "status", "--state", dir]),
    1,
    new RegExp(`^${dir}/sre-status\\.json: slos: `),
    "sre",
  );
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("run: a .json agent, host tools that are an agent, a bad chaos file, a file workspace", async () => {
  const dir = tmp();
  const json = join(dir, "agent.json");
  Deno.writeTextFileSync(json, "{}");
  oneLine(await task(["run", json]), 1, /agent\.json.*not a JavaScript or TypeScript/, ".json");
  oneLine(
    await task([
      "run",
      "examples/research_agent.ts",
      "--host-tools",
      "examples/research_agent.ts",
    ]),
    1,
    /^host tools examples\/research_agent\.ts: /,
    "host tools",
  );
  const chaos = join(dir, "chaos.json");
  Deno.writeTextFileSync(chaos, JSON.stringify({ faults: 5 }));
  oneLine(
    await task(["run", "examples/research_agent.ts", "--chaos", chaos]),
    1,
    new RegExp(`^--chaos ${chaos}: faults: `),
    "chaos",
  );
  assert(!(await task(["run", "x.ts", "--chaos", chaos])).stderr.includes('"code"'), "no zod dump");
  oneLine(
    await task(["run", "examples/research_agent.ts", "--workspace", chaos]),
    1,
    new RegExp(`^--workspace ${chaos}: not a directory`),
    "workspace",
  );
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("run --trust in a directory that does not exist: names the flag, creates nothing", async () => {
  const dir = tmp();
  const trust = join(dir, "no", "such", "t.json");
  oneLine(
    await task(["run", "examples/research_agent.ts", "--trust", trust]),
    1,
    /^--trust .*t\.json: its directory .* does not exist/,
    "trust",
  );
  assertEquals([...Deno.readDirSync(dir)].length, 0, "no directory was created");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("bench: --help runs nothing; --only bogus names the groups (exit 2)", async () => {
  const help = await task(["bench", "--help"]);
  assertEquals(help.code, 0);
  assert(help.stdout.startsWith("usage: deno task bench"), help.stdout);
  assert(!help.stdout.includes("machine:"), "no benchmark ran");
  oneLine(
    await task(["bench", "--only", "bogus"]),
    2,
    new RegExp(`^--only: expected one of ${BENCH_GROUPS.join(", ")}, got "bogus"`),
    "only",
  );
});

Deno.test("audit prove with a non-integer index is a usage error, not `entry NaN`", async () => {
  const r = await task(["audit", "prove", "f.jsonl", "abc"]);
  oneLine(r, 2, /^<index>: expected an integer/, "prove abc");
  assert(!r.stderr.includes("NaN"), r.stderr);
});

Deno.test("flags are never taken as files", async () => {
  for (const args of [["policy", "check", "--help"], ["policy", "eval", "-h"]]) {
    const r = await task(args);
    assertEquals(r.code, 0, r.stderr);
    assert(r.stdout.startsWith(`usage: deno task policy ${args[1]}`), r.stdout);
  }
});

Deno.test("plugin sign --key <typo> refuses and creates no key", async () => {
  const state = tmp();
  const r = await task(["plugin", "sign", "examples/plugins/weather", "--key", "acmee"], {
    WARDEN_HOME: state,
  });
  oneLine(r, 1, /^--key acmee: no such key .*plugin keygen acmee/, "typo");
  let keys: string[] = [];
  try {
    keys = [...Deno.readDirSync(join(state, "keys"))].map((e) => e.name);
  } catch { /* no keystore at all */ }
  assertEquals(keys, []);
  Deno.removeSync(state, { recursive: true });
});

Deno.test("deno task host reloads its policy on SIGHUP (and keeps running)", async () => {
  const home = tmp();
  const policy = join(home, "policy.yaml");
  Deno.copyFileSync(new URL("../../policies/agents.yaml", import.meta.url), policy);
  const h = spawnHost(home, freePort(), ["--policy", policy]);
  await h.up;
  h.child.kill("SIGHUP");
  // A policy that does not compile is refused and the live one kept.
  await new Promise((r) => setTimeout(r, 500));
  Deno.writeTextFileSync(policy, "apiVersion: warden/v1\nkind: Policy\nname: x\nrules: 3\n");
  h.child.kill("SIGHUP");
  await new Promise((r) => setTimeout(r, 500));
  h.child.kill("SIGTERM");
  const status = await h.child.status;
  const err = await h.err;
  await h.out;
  assertEquals(status.code, 0, `exited by signal ${status.signal}: ${err}`);
  assert(err.includes("warden: policy reloaded"), err);
  assert(err.includes("warden: policy reload refused"), err);
  Deno.removeSync(home, { recursive: true });
});

Deno.test("deno task trip journals its sagas where deno task saga list looks", async () => {
  const home = join(wardenHome(), "trip");
  Deno.mkdirSync(home, { recursive: true });
  const trip = await task(["trip"], { WARDEN_HOME: home });
  assertEquals(trip.code, 0, trip.stderr);
  const list = await task(["saga", "list"], { WARDEN_HOME: home });
  assertEquals(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split("\n");
  assertEquals(lines.length, 2, list.stdout);
  assert(lines.every((l) => /\bcompensated\b/.test(l) && l.includes("traveller")), list.stdout);
});
