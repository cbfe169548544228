/**
 * OpenAI Agents JS (`@openai/agents-core`) function tools governed by Warden. A wrapped tool is
 * a copy of the FunctionTool with a gated `invoke`; name, description, JSON schema, strictness,
 * approval, guardrails and timeouts are the original's.
 *
 * The Runner sends the model whatever `invoke` resolves to as the `function_call_result` of
 * that call (runner/toolExecution.mjs: `invokeFunctionTool` → `getToolCallOutputItem`). The
 * original `tool()` catches its own execute errors and answers with its `errorFunction`, whose
 * default is a fixed "An error occurred while running the tool" that would hide the reason
 * (tool.mjs: `defaultToolErrorFunction`, `resolveToolFailure`). So a refusal resolves to the
 * Warden line itself; for tools with an `outputSchema` it goes through their `errorFunction`
 * (which must produce a schema-valid output), and such a tool without one rethrows the
 * {@link WardenToolError}, exactly as the SDK does for its own errors there.
 *
 * The policy sees the call's arguments as the model sent them (the JSON the Runner also hands
 * to `needsApproval`). Non-function tools (hosted tools run at the provider; shell, computer
 * and apply_patch tools run here, under the permission broker) pass through unchanged.
 *
 * ```ts
 * const agent = new Agent({ name, instructions, model, tools: wardenTools([lookup, notify]) });
 * ```
 * @module
 */
import {
  type GateOptions,
  type GateSetOptions,
  optionsFor,
  toolGate,
  WardenToolError,
} from "./gate.ts";

/** The part of a FunctionTool the adapter relies on (`tool({...})` returns one). */
export interface FunctionToolLike {
  type: "function";
  name: string;
  outputSchema?: unknown;
  errorFunction?: ((runContext: never, error: unknown, details?: never) => unknown) | null;
  invoke(runContext: unknown, input: string, details?: unknown): Promise<unknown>;
}

function parseArgs(name: string, input: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = input.trim() === "" ? {} : JSON.parse(input);
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new WardenToolError(name, {
      code: "invalid",
      rule: null,
      ruleReason: null,
      message: "the arguments are not a JSON object; the tool did not run",
    });
  }
  return value as Record<string, unknown>;
}

/** Govern one function tool. */
export function wardenTool<T extends FunctionToolLike>(tool: T, opts: GateOptions = {}): T {
  const gate = toolGate(tool.name, opts);
  const invoke = async (runContext: unknown, input: string, details?: unknown) => {
    try {
      const args = parseArgs(gate.name, input);
      if (gate.mode === "host") return await gate.callHost(args);
      await gate.authorize(args);
    } catch (e) {
      if (!(e instanceof WardenToolError)) throw e;
      if (tool.outputSchema === undefined) return e.message;
      if (!tool.errorFunction) throw e;
      return await tool.errorFunction(runContext as never, e, details as never);
    }
    return await tool.invoke(runContext, input, details);
  };
  return { ...tool, invoke };
}

/** Govern the function tools of a list; other tools are returned as they are. */
export function wardenTools<T extends { type: string; name?: string }>(
  tools: readonly T[],
  opts: GateSetOptions = {},
): T[] {
  return tools.map((t) => {
    if (t.type !== "function") return t;
    const fn = t as unknown as FunctionToolLike;
    return wardenTool(fn, optionsFor(fn.name, opts)) as unknown as T;
  });
}
