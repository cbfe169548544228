/**
 * A `SagaExecute` function (tests, embedders without a ToolRegistry) seen as a tool source for
 * the ToolRunner: every tool name is known, its arguments are the saga's own record, and its
 * implementation calls `execute` with the saga's agent, idempotency key and signal.
 */
import { z } from "zod";
import type { Tool } from "../executors/tools.ts";
import type { ToolSource } from "../executors/runner.ts";
import type { AgentRef } from "../governor.ts";
import type { SagaExecute } from "./orchestrator.ts";

const ARGS = z.record(z.string(), z.unknown());

/** The tools `execute` performs for `agent`, as a ToolRunner tool source. */
export function executeAsTools(execute: SagaExecute, agent: AgentRef): ToolSource {
  const tool = (name: string): Tool => ({
    description: `saga tool ${name}`,
    schema: ARGS,
    run: (args, ctx) =>
      execute(agent, name, args as Record<string, unknown>, ctx.idempotencyKey ?? "", ctx.signal),
  });
  return {
    validate: (_name, args) => {
      const r = ARGS.safeParse(args);
      return r.success
        ? { ok: true, args: r.data }
        : { ok: false, error: "arguments: not a record" };
    },
    get: tool,
  };
}
