/** The trip-booking saga end to end: SDK → host → orchestrator → travel tools. */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { startTravelServer } from "../../examples/trip/travel_server.ts";
import { registerTravelTools } from "../../examples/trip/tools.ts";
import { runDeno } from "../cli/run.ts";

const root = new URL("../../", import.meta.url).pathname;

Deno.test("deno task trip: a declined card and a mid-saga kill both end with everything cancelled", async () => {
  const r = await runDeno(["task", "-q", "trip"]);
  assertEquals(r.code, 0, r.stderr);
  const runs = r.stdout.split("Run 2:");
  for (const part of runs) {
    if (!part.includes("bookings: flight (cancelled), hotel (cancelled)\n")) {
      throw new Error(r.stdout);
    }
  }
  if (!runs[1].includes("killed: agent killed: operator pulled the plug mid-saga")) {
    throw new Error(r.stdout);
  }
});

Deno.test("a policy deny in the middle of a saga triggers compensation; a completed saga succeeds", async () => {
  const travel = startTravelServer();
  const host = new AgentHost({
    policy: loadPolicy([join(root, "examples/trip/policy.yaml")], { builtin: true }),
    rings: loadRings(),
    tools: registerTravelTools(new ToolRegistry(), travel.url),
  });
  try {
    const run = async (amount: number) => {
      const h = await host.start({
        module: join(root, "examples/trip_agent.ts"),
        name: "traveller",
        env: { WARDEN_TASK: JSON.stringify({ amount }) },
      });
      const [out] = await Promise.all([new Response(h.process.stdout).text(), h.exited]);
      return out;
    };
    const big = await run(9000);
    if (
      !big.includes(
        'compensated (step 2 "payment" failed: denied: denied by rule "no-big-payments"',
      )
    ) {
      throw new Error(big);
    }
    assertEquals(
      [...travel.bookings.values()].every((b) => b.kind !== "payment" && b.cancelled),
      true,
    );
    travel.bookings.clear();
    const ok = await run(840);
    if (!ok.includes(": completed")) throw new Error(ok);
    assertEquals([...travel.bookings.values()].map((b) => [b.kind, b.cancelled]), [
      ["flight", false],
      ["hotel", false],
      ["payment", false],
    ]);
    const denied = host.audit.recent.find((e) =>
      e.action === "tool.call" && e.rule === "no-big-payments"
    );
    assertEquals(denied?.effect, "deny");
  } finally {
    await host.close();
    await travel.close();
  }
});
