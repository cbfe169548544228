/**
 * Framework tools run host-side: an operator's own (trusted) Vercel AI SDK, LangChain.js or
 * OpenAI Agents JS tools registered in the host's tool registry, so that agents call them
 * through the SDK (`tools.call`, or the adapters' `"host"` mode) and never hold what they
 * need — an API key, a database handle. Each call is validated by the tool's own schema
 * (converted to zod), decided as `tool.call` with its arguments, audited, and run here with
 * the call's abort signal and its idempotency key (sagas: `<saga>:<step>:do|undo`, the same on
 * every retry and after a host crash): the AI SDK's `toolCallId`, LangChain's
 * `config.configurable.idempotencyKey`, and the OpenAI Agents tool call's `callId` (and its run
 * context's `context.idempotencyKey`). A call without a key gets a fresh random id.
 *
 * Tools are recognised by shape, so this module imports none of the frameworks:
 * - AI SDK: `{ description?, inputSchema, execute(input, options) }` in a ToolSet record;
 * - LangChain: `{ name, description, schema, invoke(input, config) }` (a StructuredTool);
 * - OpenAI Agents: `{ type: "function", name, description, parameters, invoke(ctx, json) }`.
 */
import { z } from "zod";
import type { ToolContext, ToolRegistry } from "../executors/tools.ts";

/** What a framework tool's run receives: the call's signal and idempotency key. */
type HostCall = Pick<ToolContext, "signal" | "idempotencyKey">;

/** A tool as registered: name, description, validator and implementation. */
interface HostTool {
  name: string;
  description: string;
  schema: z.ZodType;
  run: (args: Record<string, unknown>, call: HostCall) => Promise<unknown>;
}

/** The call's id as the frameworks see it: the idempotency key, else a fresh random id. */
const callIdOf = (call: HostCall): string => call.idempotencyKey ?? `warden-${crypto.randomUUID()}`;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object";

/**
 * A zod validator for a framework's input schema: zod itself, a JSON Schema, or an AI SDK
 * `jsonSchema()` wrapper (both converted by zod's `fromJSONSchema`). Throws on anything else:
 * a tool whose arguments cannot be validated is not registered.
 */
export function validatorFor(schema: unknown, tool: string): z.ZodType {
  if (isObj(schema) && typeof schema.safeParse === "function") {
    return schema as unknown as z.ZodType;
  }
  let json: unknown = schema;
  if (isObj(schema) && "jsonSchema" in schema && "validate" in schema) {
    json = schema.jsonSchema;
  }
  if (isObj(json) && (typeof json.type === "string" || isObj(json.properties))) {
    try {
      return z.fromJSONSchema(json as Parameters<typeof z.fromJSONSchema>[0]);
    } catch (e) {
      throw new Error(`tool "${tool}": its JSON Schema cannot be used: ${(e as Error).message}`);
    }
  }
  throw new Error(`tool "${tool}": no input schema Warden can validate arguments with`);
}

async function lastOf(v: unknown): Promise<unknown> {
  if (!isObj(v) || !(Symbol.asyncIterator in v)) return v;
  let last: unknown;
  for await (const x of v as AsyncIterable<unknown>) last = x;
  return last;
}

function fromAiSdk(name: string, t: Obj): HostTool {
  const execute = t.execute as (input: unknown, options: Obj) => unknown;
  return {
    name,
    description: String(t.description ?? name),
    schema: validatorFor(t.inputSchema, name),
    run: async (args, call) =>
      await lastOf(
        await execute(args, {
          toolCallId: callIdOf(call),
          messages: [],
          abortSignal: call.signal,
        }),
      ),
  };
}

function fromLangChain(t: Obj): HostTool {
  const name = String(t.name);
  const invoke = t.invoke as (input: unknown, config: Obj) => Promise<unknown>;
  return {
    name,
    description: String(t.description ?? name),
    schema: validatorFor(t.schema, name),
    run: async (args, call) => {
      const id = callIdOf(call);
      // In `configurable`, not `toolCall`: a tool call id would turn the result into a
      // ToolMessage with its content stringified.
      const out = await invoke.call(t, args, {
        signal: call.signal,
        configurable: { idempotencyKey: id },
      });
      // A ToolMessage (or content-and-artifact pair) comes back as its content.
      if (isObj(out) && "content" in out && "tool_call_id" in out) return out.content;
      return out;
    },
  };
}

function fromOpenAiAgents(t: Obj): HostTool {
  const name = String(t.name);
  const invoke = t.invoke as (ctx: unknown, input: string, details?: unknown) => Promise<unknown>;
  return {
    name,
    description: String(t.description ?? name),
    schema: validatorFor(t.parameters, name),
    // The tool runs outside a Runner: its run context carries only the idempotency key.
    run: async (args, call) => {
      const id = callIdOf(call);
      const json = JSON.stringify(args);
      return await invoke.call(t, { context: { idempotencyKey: id } }, json, {
        toolCall: { type: "function_call", callId: id, name, arguments: json },
      });
    },
  };
}

/** The host tools a module's export describes (a ToolSet record, or a list of tools). */
export function hostToolsFrom(exported: unknown): HostTool[] {
  const list: HostTool[] = [];
  const one = (t: unknown, key?: string): HostTool => {
    if (!isObj(t)) throw new Error(`${key ?? "tool"}: not a tool`);
    let tool: HostTool | null = null;
    if (t.type === "function" && typeof t.invoke === "function" && "parameters" in t) {
      tool = fromOpenAiAgents(t);
    } else if (typeof t.invoke === "function" && typeof t.name === "string" && "schema" in t) {
      tool = fromLangChain(t);
    } else if (typeof t.execute === "function" && (key ?? t.name) !== undefined) {
      tool = fromAiSdk(String(key ?? t.name), t);
    }
    if (!tool) {
      throw new Error(
        `${key ?? String(t.name ?? "tool")}: not an AI SDK, LangChain or OpenAI Agents tool`,
      );
    }
    if (key !== undefined && tool.name !== key) {
      throw new Error(`"${key}" holds a tool named "${tool.name}": the names must agree`);
    }
    return tool;
  };
  if (Array.isArray(exported)) { for (const t of exported) list.push(one(t)); }
  else if (isObj(exported)) { for (const [k, t] of Object.entries(exported)) list.push(one(t, k)); }
  else throw new Error("expected a ToolSet record or a list of tools");
  return list;
}

/** Register framework tools in `registry`; returns their names. */
export function registerHostTools(
  registry: ToolRegistry,
  exported: unknown,
  opts: { timeoutMs?: number } = {},
): string[] {
  const tools = hostToolsFrom(exported);
  for (const t of tools) {
    registry.register(t.name, {
      description: t.description,
      schema: t.schema,
      run: (args, ctx) =>
        t.run(args as Record<string, unknown>, {
          signal: ctx.signal,
          idempotencyKey: ctx.idempotencyKey,
        }),
      timeoutMs: opts.timeoutMs,
    });
  }
  return tools.map((t) => t.name);
}

/** Import `module` (host-side, trusted) and register its `tools` export. */
export async function loadHostTools(registry: ToolRegistry, module: string): Promise<string[]> {
  const url = new URL(module, `file://${Deno.cwd()}/`).href;
  let mod: Obj;
  try {
    mod = await import(url);
  } catch (e) {
    throw new Error(`host tools ${module}: cannot load: ${(e as Error).message.split("\n")[0]}`);
  }
  if (!("tools" in mod)) throw new Error(`host tools ${module}: the module exports no "tools"`);
  try {
    return registerHostTools(registry, mod.tools);
  } catch (e) {
    throw new Error(`host tools ${module}: ${(e as Error).message}`);
  }
}
