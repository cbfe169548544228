/**
 * The Deno-off test mode is reachable only from tests (issue 20 item 5): no module of runtime/
 * (the CLI, the host, the API) imports tests/kernel/deno_off.ts, no runtime code emits Deno's
 * allow-all flags, and the CLI has no flag for it.
 */
import { join, relative } from "node:path";
import { assertEquals } from "../policy/asserts.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function* sources(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* sources(p);
    else if (/\.(ts|js|c)$/.test(e.name)) yield p;
  }
}

Deno.test("deno-off guard: nothing in runtime/ names the test mode or Deno's allow-all", () => {
  const found: string[] = [];
  for (const f of [...sources(join(ROOT, "runtime")), join(ROOT, "deno.json")]) {
    const text = Deno.readTextFileSync(f);
    if (/deno_off|tests\/kernel/.test(text)) {
      found.push(`${relative(ROOT, f)}: names the test mode`);
    }
    if (/["'`](-A|--allow-all|-A=|--allow-all=)["'`]/.test(text)) {
      found.push(`${relative(ROOT, f)}: emits Deno's allow-all flag`);
    }
  }
  assertEquals(found, []);
});

Deno.test("deno-off guard: the CLI's entry points do not load the test mode", async () => {
  for (const entry of ["runtime/cli/run.ts", "runtime/cli/host.ts", "runtime/cli/mcp_gateway.ts"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: { specifier: string }[];
    };
    const hit = graph.modules.filter((m) => m.specifier.includes("/tests/"));
    assertEquals([entry, hit.map((m) => m.specifier)], [entry, []]);
  }
});

Deno.test("deno-off guard: no CLI flag turns Deno's checks off", async () => {
  for (const flag of ["--deno-off", "--allow-all", "-A", "--no-broker"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "run", flag, "examples/research_agent.ts"],
      cwd: ROOT,
      env: { NO_COLOR: "1", WARDEN_HOME: Deno.makeTempDirSync() },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals([flag, out.code], [flag, 2], new TextDecoder().decode(out.stderr));
  }
});
