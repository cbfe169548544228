/** A signed plugin end to end: sign, trust, install, run an agent that uses it; tamper → refused. */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { runDeno } from "../cli/run.ts";
import { copyExample } from "./helpers.ts";

Deno.test("example plugin: an agent uses weather.forecast through the host; a tampered install is refused at load", async () => {
  const home = await Deno.makeTempDir();
  const env = { WARDEN_HOME: home };
  const src = await copyExample(home); // a temp copy: the tracked example is never signed
  const plugin = (...args: string[]) => runDeno(["task", "-q", "plugin", ...args], undefined, env);
  const kg = await plugin("keygen", "acme");
  assertEquals(kg.code, 0, kg.stderr);
  const did = kg.stdout.trim().split(/\s+/).find((w) => w.startsWith("did:key:"))!;
  assertEquals((await plugin("sign", src, "--key", "acme")).code, 0);
  assertEquals((await plugin("trust", did, "--name", "acme")).code, 0);
  const inst = await plugin("install", src);
  assertEquals(inst.code, 0, inst.stderr);
  const run = () =>
    runDeno(
      ["task", "-q", "run", "examples/plugin_agent.ts", "--plugin", "weather", "--verbose"],
      undefined,
      env,
    );
  const ok = await run();
  assertEquals(ok.code, 0, ok.stderr);
  const days = JSON.parse(ok.stdout.trim());
  assertEquals(Array.isArray(days.days ?? days) || typeof days === "object", true);
  for (const s of ["plugin.load weather@1.0.0", "tool.call weather.forecast"]) {
    if (!ok.stderr.includes(s)) throw new Error(`missing "${s}" in\n${ok.stderr}`);
  }
  // The host stopping the plugin's process at the end of a normal run is no denial, no kill.
  if (/DENY|KILLED|agent\.kill/.test(ok.stderr)) throw new Error(`alarming lines in\n${ok.stderr}`);
  if (!/warden: STOP {2}plugin-weather agent\.stop \d+ — host stop: /.test(ok.stderr)) {
    throw new Error(`no host stop line in\n${ok.stderr}`);
  }
  await Deno.writeTextFile(
    join(home, "plugins", "installed", "weather", "main.ts"),
    "export const tools = {};\n",
  );
  const bad = await run();
  assertEquals(bad.code, 1);
  if (!bad.stderr.startsWith('plugin "weather":') || !bad.stderr.includes("main.ts")) {
    throw new Error(bad.stderr);
  }
  await Deno.remove(home, { recursive: true });
});
