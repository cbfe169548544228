/**
 * Vercel AI SDK (`ai`) tools governed by Warden. A wrapped tool keeps its description, input
 * schema and everything else; only `execute` changes. A refusal makes `execute` throw a
 * {@link WardenToolError}: the SDK turns a throwing `execute` into a `tool-error` part, and the
 * next model call receives it as a tool result of type `error-text` whose value is
 * `getErrorMessage(error)`, i.e. `error.toString()` — the one Warden line
 * (ai/src/generate-text/execute-tool-call.ts, to-response-messages.ts,
 * prompt/create-tool-model-output.ts).
 *
 * ```ts
 * const result = await generateText({ model, tools: wardenTools(myTools), stopWhen });
 * ```
 * @module
 */
import type { Tool, ToolExecutionOptions, ToolSet } from "ai";
import {
  type GateOptions,
  type GateSetOptions,
  optionsFor,
  type ToolGate,
  toolGate,
} from "./gate.ts";

type Execute = (input: unknown, options: ToolExecutionOptions<unknown>) => unknown;

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return v !== null && typeof v === "object" && Symbol.asyncIterator in v;
}

const AsyncGeneratorFunction = Object.getPrototypeOf(async function* () {}).constructor;

/** A streaming execute yields preliminary results; it is gated before its first step. */
function gatedStream(gate: ToolGate, execute: Execute): Execute {
  return async function* (input, options) {
    await gate.authorize(input);
    yield* execute(input, options) as AsyncIterable<unknown>;
  };
}

function gatedCall(gate: ToolGate, execute: Execute): Execute {
  return async (input, options) => {
    await gate.authorize(input);
    const out = await execute(input, options);
    if (!isAsyncIterable(out)) return out;
    // A plain function that returned a stream: the final (last) value is the result.
    let last: unknown;
    for await (const v of out) last = v;
    return last;
  };
}

/**
 * Govern one AI SDK tool. `name` is the tool's key in the ToolSet (the name the model calls);
 * it is also the Warden tool name unless `opts.name` is given. Tools without `execute` in
 * worker mode (the caller supplies their results) and provider-executed tools come back as
 * they are: nothing runs in this process for them.
 */
export function wardenTool<T extends Tool>(name: string, tool: T, opts: GateOptions = {}): T {
  if ((tool as { isProviderExecuted?: boolean }).isProviderExecuted === true) return tool;
  const gate = toolGate(name, opts);
  const execute = (tool as { execute?: Execute }).execute;
  let wrapped: Execute;
  if (gate.mode === "host") wrapped = (input) => gate.callHost(input);
  else if (!execute) return tool;
  else if (execute instanceof AsyncGeneratorFunction) wrapped = gatedStream(gate, execute);
  else wrapped = gatedCall(gate, execute);
  return { ...tool, execute: wrapped } as T;
}

/** Govern every tool of a ToolSet (same keys, same types). */
export function wardenTools<T extends ToolSet>(tools: T, opts: GateSetOptions = {}): T {
  const out: Record<string, Tool> = {};
  for (const [name, tool] of Object.entries(tools)) {
    out[name] = wardenTool(name, tool as Tool, optionsFor(name, opts));
  }
  return out as T;
}
