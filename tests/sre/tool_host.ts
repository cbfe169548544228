/** A host for tool-runner tests: the built-in policy plus a test policy, given tools and SRE. */
import { compilePolicySet } from "../../governance/mod.ts";
import type { ToolRegistry } from "../../runtime/executors/tools.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import type { SreOptions } from "../../runtime/sre/service.ts";

/** A host deciding with the built-in rules and `policy` (YAML), running `tools` under `sre`. */
export function toolHost(policy: string, tools: ToolRegistry, sre: SreOptions = {}): AgentHost {
  return new AgentHost({
    policy: compilePolicySet([
      { path: "builtin.yaml", text: Deno.readTextFileSync("runtime/policy/builtin.yaml") },
      { path: "test.yaml", text: policy },
    ]),
    rings: loadRings(),
    tools,
    sre,
  });
}

/** Breakers where `tool`'s opens once half of its last two calls failed (for a minute). */
export function trippedAfterTwoFailures(tool: string): SreOptions["breakers"] {
  return {
    overrides: [{
      pattern: `tool:${tool}`,
      config: {
        slidingWindowType: "COUNT_BASED",
        slidingWindowSize: 2,
        minimumNumberOfCalls: 2,
        failureRateThreshold: 50,
        waitDurationInOpenState: 60_000,
      },
    }],
  };
}
