/**
 * Trusted bootstrap of a plugin process: like an agent's, but after loading the plugin's entry
 * module it serves the host's tool calls (`export const tools = { name: (args, ctx) => … }`).
 * The process runs sandboxed at the ring the plugin was installed at, under its declared
 * capabilities; every permission it uses goes through the broker like an agent's.
 */
import { attach, call } from "../../sdk/channel.ts";

type ToolFn = (args: Record<string, unknown>, ctx: { idempotencyKey?: string }) => unknown;

const [sdkSocket, entryUrl] = Deno.args;
// As for agents (bootstrap.ts): the plugin's own arguments (none) are all it sees.
Object.defineProperty(Deno, "args", { value: Object.freeze([]), configurable: true });
attach(await Deno.connect({ transport: "unix", path: sdkSocket }));
const mod = await import(entryUrl);
const tools = (mod.tools ?? {}) as Record<string, ToolFn>;
while (true) {
  // Checked by the channel against the op's reply schema (PluginCall in sdk/wire_schema.ts).
  const next = await call("plugin.next", { timeoutMs: 60_000 });
  if (!next) continue;
  const fn = Object.hasOwn(tools, next.tool) ? tools[next.tool] : undefined;
  try {
    if (typeof fn !== "function") throw new Error(`the plugin has no tool "${next.tool}"`);
    const result = await fn(next.args, { idempotencyKey: next.idempotencyKey });
    await call("plugin.result", { callId: next.callId, ok: true, result: result ?? null });
  } catch (e) {
    await call("plugin.result", {
      callId: next.callId,
      ok: false,
      error: e instanceof Error ? e.message : String(e),
    });
  }
}
