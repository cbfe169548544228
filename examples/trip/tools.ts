/**
 * Host-side travel tools for the trip saga. A compensation finds what to cancel from its own
 * idempotency key (`<saga>:<step>:undo` cancels what `<saga>:<step>:do` booked).
 */
import { z } from "zod";
import type { ToolContext, ToolRegistry } from "../../runtime/executors/tools.ts";

function keyOf(ctx: ToolContext, phase: "do" | "undo"): string {
  if (!ctx.idempotencyKey) throw new Error("travel tools run inside sagas (no idempotency key)");
  return phase === "do" ? ctx.idempotencyKey : ctx.idempotencyKey.replace(/:undo$/, ":do");
}

async function call(
  base: string,
  method: string,
  path: string,
  key: string,
  signal: AbortSignal,
  body?: unknown,
) {
  const res = await fetch(`${base}${path}`, {
    method,
    signal,
    headers: { "idempotency-key": key, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${json.error ?? res.status}`);
  return json;
}

/** Register book/cancel tools for flights, hotels and payments against `base`. */
export function registerTravelTools(tools: ToolRegistry, base: string): ToolRegistry {
  const kinds = [
    ["flight", "/flights", z.strictObject({ from: z.string(), to: z.string(), date: z.string() })],
    ["hotel", "/hotels", z.strictObject({ city: z.string(), nights: z.number().int().min(1) })],
    [
      "payment",
      "/payments",
      z.strictObject({ amount: z.number().positive(), currency: z.string() }),
    ],
  ] as const;
  for (const [kind, path, schema] of kinds) {
    const verb = kind === "payment" ? "charge" : "book";
    const undo = kind === "payment" ? "refund" : "cancel";
    tools.register(`${verb}_${kind}`, {
      description: `${verb} a ${kind}`,
      schema,
      run: (args, ctx) => call(base, "POST", path, keyOf(ctx, "do"), ctx.signal, args),
    });
    tools.register(`${undo}_${kind}`, {
      description: `${undo} the ${kind} booked by the same saga step`,
      schema: z.strictObject({}),
      run: (_args, ctx) => call(base, "DELETE", path, keyOf(ctx, "undo"), ctx.signal),
    });
  }
  return tools;
}
