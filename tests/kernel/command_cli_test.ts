/**
 * `deno task run --command -- PROGRAM ARGS…` (issue 20 item 6): the CLI runs a python3 program
 * as a governed agent, and bad combinations are one line with exit 2.
 */
import { assertEquals } from "../policy/asserts.ts";
import { hostile } from "./deno_off.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = Deno.makeTempDirSync({ prefix: "warden-cmd-home-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "run", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", WARDEN_HOME: home },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const out = await child.output();
  clearTimeout(timer);
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: dec(out.stdout), stderr: dec(out.stderr) };
}

Deno.test("command cli: python3 runs as an agent and calls a host tool over MCP", async () => {
  const r = await run([
    "--command",
    "--ring",
    "2",
    "--",
    "python3",
    hostile("mcp_agent.py"),
    "/nonexistent-secret",
    "9",
    "/nonexistent.sock",
  ]);
  const show = `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
  assertEquals(r.code, 0, show);
  if (!r.stdout.includes('"step": "done"')) throw new Error(`did not finish\n${show}`);
  if (!r.stdout.includes('"step": "call noop", "isError": false')) throw new Error(show);
  if (!/warden: DENY .*tool\.call.*shell/i.test(r.stderr)) {
    throw new Error(`the refused tool call is not shown\n${show}`);
  }
});

Deno.test("command cli: bad combinations are one line and exit 2", async () => {
  for (
    const [args, msg] of [
      [["--command"], "--command needs a program"],
      [["--command", "examples/research_agent.ts", "--", "python3"], "not an agent module"],
      [["--command", "--bundle", "--", "python3"], "--bundle is for Deno agent modules"],
      [["--command", "--explain-sandbox", "--", "python3"], "--explain-sandbox explains"],
    ] as const
  ) {
    const r = await run([...args]);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const first = r.stderr.split("\n")[0];
    if (!first.includes(msg) || /\bat .*:\d+:\d+/.test(r.stderr)) {
      throw new Error(`${args.join(" ")}: ${r.stderr}`);
    }
  }
});
