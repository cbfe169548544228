/**
 * The launch plan (runtime/supervisor/launch.ts) without a process: paths, budgets, the
 * process environment check, and the spawn of a ring 2 and a ring 3 agent with and without the
 * kernel sandbox.
 */
import { join } from "node:path";
import type { AgentRef } from "../../runtime/governor.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import {
  agentName,
  agentPaths,
  BOOTSTRAP,
  launchBudgets,
  PLUGIN_BOOTSTRAP,
  processEnvRefusal,
  SDK_DIR,
  spawnPlan,
} from "../../runtime/supervisor/launch.ts";
import { SYSTEM_READ_ONLY } from "../../runtime/supervisor/spawn.ts";
import { assert, assertEquals } from "../policy/asserts.ts";

const rings = loadRings().doc;
const ref: AgentRef = {
  id: "did:key:zTest",
  name: "worker",
  ring: 2,
  trust: 500,
  labels: {},
  workspace: "/srv/ws",
  code: "/srv/agent",
  sdk: SDK_DIR,
};
const own = { module: "/srv/agent/main.ts", expose: ["/srv/agent/main.ts", "/srv/agent/lib.ts"] };
const paths = agentPaths("/state/a7", "worker", false);

Deno.test("agent paths: sockets, import map and cache in the agent's directory; a bundle only when bundling", () => {
  assertEquals(paths, {
    dir: "/state/a7",
    brokerSocket: "/state/a7/b.sock",
    sdkSocket: "/state/a7/s.sock",
    importMap: "/state/a7/import_map.json",
    denoDir: "/state/a7/deno_dir",
  });
  assertEquals(agentPaths("/s/a1", "w", true).bundleOut, "/s/a1/code/w.bundle.js");
  assertEquals(agentName("/x/my-agent.ts"), "my-agent");
  assertEquals(agentName("npm:@scope/server-everything@1.2.3"), "server-everything");
});

Deno.test("launch budgets: the spec's budgets win over memoryBytes; a bad override is refused", () => {
  const b = launchBudgets(rings.budgets, 2, {
    memoryBytes: 64 * 2 ** 20,
    budgets: { memoryBytes: 32 * 2 ** 20 },
  });
  assertEquals(b.memoryBytes, 32 * 2 ** 20);
  assertEquals(
    launchBudgets(rings.budgets, 2, { memoryBytes: 64 * 2 ** 20 }).memoryBytes,
    64 * 2 ** 20,
  );
  let threw = "";
  try {
    launchBudgets(rings.budgets, 2, { budgets: { pids: -1 } });
  } catch (e) {
    threw = (e as Error).message;
  }
  assert(threw.includes("pids"), threw);
});

Deno.test("process environment: loader and runtime variables are refused before anything starts", () => {
  assertEquals(processEnvRefusal({ API_URL: "http://x" }), null);
  assertEquals(processEnvRefusal(undefined), null);
  for (const k of ["LD_PRELOAD", "DENO_DIR", "node_options"]) {
    assert(processEnvRefusal({ [k]: "x" })?.startsWith("environment: "), k);
  }
});

Deno.test("spawn plan of a ring 2 agent under the kernel sandbox: flags, kernel roots, limits, env", () => {
  const plan = spawnPlan({
    spec: { cpuMs: 2500, args: ["--x"] },
    ceiling: rings.rings[2],
    ref,
    own,
    paths,
    budgets: launchBudgets(rings.budgets, 2, {}),
    deno: "/usr/local/bin/deno",
    plugin: false,
    kernel: { launcher: "/state/warden-sandbox", denoReal: "/opt/deno/deno" },
  });
  assertEquals(plan.bootstrap, BOOTSTRAP);
  assertEquals(plan.agentUrl, "file:///srv/agent/main.ts");
  assertEquals(plan.heapMb, 256);
  assertEquals(plan.cpuSeconds, 4);
  assertEquals(plan.stdout, "piped");
  assertEquals(plan.nodeArgv, true); // arguments: node's argv is rewritten too
  assertEquals(plan.env, { HOME: "/srv/ws/.warden-home", TMPDIR: "/srv/ws/.warden-tmp" });
  assertEquals(plan.fileSizeBytes, launchBudgets(rings.budgets, 2, {}).diskBytes);
  // Reads: the own-code files one by one and the SDK, never the code directory.
  const read = plan.flags.find((f) => f.startsWith("--allow-read="))!;
  assert(read.includes("/srv/agent/main.ts") && read.includes("/srv/agent/lib.ts"), read);
  assert(!read.split(/[=,]/).includes("/srv/agent"), read);
  const sb = plan.sandbox!;
  assertEquals(sb.launcher, "/state/warden-sandbox");
  assertEquals(sb.pinCwd, true); // ring 2 runs no programs: chdir is pinned
  assertEquals(sb.readWrite, ["/state/a7/deno_dir", "/srv/ws"]);
  assertEquals(sb.readOnly.slice(0, SYSTEM_READ_ONLY.length), SYSTEM_READ_ONLY);
  for (
    const p of ["/opt/deno/deno", "/state/a7/import_map.json", ...own.expose, SDK_DIR, "/srv/ws"]
  ) {
    assert(sb.readOnly.includes(p), p);
  }
  assert(!sb.readOnly.includes("/srv/agent") && !sb.readOnly.includes("/"), sb.readOnly.join());
});

Deno.test("spawn plan of a ring 3 plugin without the kernel sandbox: plugin bootstrap, no sandbox", () => {
  const plan = spawnPlan({
    spec: { stdio: "null", bundle: true, processEnv: { MODE: "x" } },
    ceiling: rings.rings[3],
    ref: { ...ref, ring: 3 },
    own,
    paths,
    budgets: launchBudgets(rings.budgets, 3, {}),
    deno: "/usr/local/bin/deno",
    plugin: true,
    kernel: null,
  });
  assertEquals(plan.bootstrap, PLUGIN_BOOTSTRAP);
  assertEquals(plan.sandbox, undefined);
  assertEquals(plan.nodeArgv, false); // never for plugins
  assertEquals(plan.stdout, "null");
  assertEquals(plan.stderr, "null");
  assertEquals(plan.env, {
    HOME: "/srv/ws/.warden-home",
    MODE: "x",
    TMPDIR: "/srv/ws/.warden-tmp",
  });
  assert(!plan.flags.some((f) => f.startsWith("--allow-write")), plan.flags.join(" "));
});

Deno.test("agent names: a generic entry (dist/index.js) takes its package's name, else its directory's", () => {
  const dir = Deno.makeTempDirSync({ prefix: "warden-name-" });
  try {
    Deno.mkdirSync(join(dir, "pkg/dist"), { recursive: true });
    Deno.writeTextFileSync(
      join(dir, "pkg/package.json"),
      JSON.stringify({ name: "@acme/notes-server" }),
    );
    assertEquals(agentName(join(dir, "pkg/dist/index.js")), "notes-server");
    Deno.mkdirSync(join(dir, "weather/build"), { recursive: true });
    assertEquals(agentName(join(dir, "weather/build/main.mjs")), "weather");
    assertEquals(agentName(join(dir, "weather/build/forecast.ts")), "forecast");
    assertEquals(agentName("npm:@modelcontextprotocol/server-memory@2026.8.31"), "server-memory");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
