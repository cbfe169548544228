/**
 * LangChain.js tools governed by Warden. A wrapped tool is the original tool object seen
 * through a new one (its prototype) whose `_call` is gated: name, description, schema, response
 * format, callbacks and parsing all stay the framework's own (`StructuredTool.call` parses the
 * input with the schema and then calls `_call`; @langchain/core dist/tools/index.js).
 *
 * A refusal, when the tool is invoked with a tool call (`tool.invoke(aiMessage.tool_calls[i])`,
 * as agent loops do), returns a `ToolMessage` with `status: "error"` and the Warden line as its
 * content: `_formatToolOutput` passes a returned ToolMessage through unchanged
 * (`isDirectToolOutput`, dist/messages/tool.js), so the model reads it as that call's result.
 * Invoked with plain arguments it throws a {@link WardenToolError}, as any failing LangChain
 * tool throws. Errors of the tool itself propagate as they always do.
 *
 * ```ts
 * const model = chatModel.bindTools(wardenTools([search, writeNote]));
 * ```
 * @module
 */
import { ToolMessage } from "@langchain/core/messages";
import type { StructuredTool } from "@langchain/core/tools";
import {
  type GateOptions,
  type GateSetOptions,
  optionsFor,
  toolGate,
  WardenToolError,
} from "./gate.ts";

/** What `StructuredTool.call` passes to `_call` (the config carries the tool call, if any). */
type CallHook = (
  arg: unknown,
  runManager?: unknown,
  config?: { toolCall?: { id?: string } },
) => unknown;

function refusal(tool: StructuredTool, e: WardenToolError, id: string | undefined): unknown {
  if (!id) throw e;
  const message = new ToolMessage({
    status: "error",
    content: e.message,
    tool_call_id: id,
    name: tool.name,
  });
  // content_and_artifact tools must return a pair; a ToolMessage as content still passes as is.
  return tool.responseFormat === "content_and_artifact" ? [message, undefined] : message;
}

function hostResult(tool: StructuredTool, result: unknown): unknown {
  if (tool.responseFormat !== "content_and_artifact") return result;
  return [typeof result === "string" ? result : JSON.stringify(result), result];
}

/** Govern one LangChain tool (any StructuredTool, including `tool(fn, {...})` results). */
export function wardenTool<T extends StructuredTool>(tool: T, opts: GateOptions = {}): T {
  const gate = toolGate(tool.name, opts);
  const original = (tool as unknown as { _call: CallHook })._call;
  const gated: CallHook = async (arg, runManager, config) => {
    try {
      if (gate.mode === "host") return hostResult(tool, await gate.callHost(arg));
      await gate.authorize(arg);
    } catch (e) {
      if (e instanceof WardenToolError) return refusal(tool, e, config?.toolCall?.id);
      throw e;
    }
    return await original.call(tool, arg, runManager, config);
  };
  const wrapped = Object.create(tool) as T;
  Object.defineProperty(wrapped, "_call", { value: gated, writable: true, configurable: true });
  return wrapped;
}

/** Govern a list of LangChain tools (same order, same types). */
export function wardenTools<T extends StructuredTool>(
  tools: readonly T[],
  opts: GateSetOptions = {},
): T[] {
  return tools.map((t) => wardenTool(t, optionsFor(t.name, opts)));
}
