/** A `SagaExecute` backed by the host's ToolRegistry (validate the arguments, run the tool). */
import type { ToolRegistry } from "../executors/tools.ts";
import type { SagaExecute } from "./orchestrator.ts";
import { SagaStepError } from "./timing.ts";

/** Execute saga calls with the tools of `tools`, passing the idempotency key and signal. */
export function registryExecutor(tools: ToolRegistry): SagaExecute {
  return async (agent, name, args, idempotencyKey, signal) => {
    const v = tools.validate(name, args);
    if (!v.ok) throw new SagaStepError("invalid", v.error);
    const tool = tools.get(name)!;
    return await tool.run(v.args, {
      agentId: agent.id,
      agentName: agent.name,
      workspace: agent.workspace,
      signal,
      idempotencyKey,
    });
  };
}
