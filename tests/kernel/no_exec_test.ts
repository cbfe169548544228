/**
 * No program started at the rings that may not run any (issue 20 item 5): the launch plan of a
 * Deno agent at rings 2 and 3 asks the launcher for `--no-exec`; ring 1, which may run programs,
 * does not. (hostile_test.ts and native_test.ts show what `--no-exec` refuses.)
 */
import type { AgentRef } from "../../runtime/governor.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { agentPaths, launchBudgets, SDK_DIR, spawnPlan } from "../../runtime/supervisor/launch.ts";
import { agentArgv } from "../../runtime/supervisor/spawn.ts";
import { assertEquals } from "../policy/asserts.ts";

const rings = loadRings().doc;

Deno.test("no-exec: Deno agents at rings 2 and 3 start under --no-exec, ring 1 does not", () => {
  for (const ring of [1, 2, 3] as const) {
    const ref: AgentRef = {
      id: "did:key:zTest",
      name: "w",
      ring,
      trust: 500,
      labels: {},
      workspace: "/srv/ws",
      code: "/srv/agent",
      sdk: SDK_DIR,
    };
    const plan = spawnPlan({
      spec: {},
      ceiling: rings.rings[ring],
      ref,
      own: { module: "/srv/agent/main.ts", expose: ["/srv/agent/main.ts"] },
      paths: agentPaths("/state/a1", "w", false),
      budgets: launchBudgets(rings.budgets, ring, {}),
      deno: "/usr/bin/deno",
      plugin: false,
      kernel: { launcher: "/launcher", denoReal: "/usr/bin/deno" },
    });
    assertEquals([ring, agentArgv(plan).includes("--no-exec")], [ring, ring >= 2]);
  }
});
