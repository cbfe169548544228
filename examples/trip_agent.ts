/**
 * Books a trip as one saga: flight, then hotel, then payment. If any step fails (or the
 * policy denies it, or the agent is killed), the host cancels what was booked, in reverse.
 * Run: deno task trip   (starts the travel API, and runs this agent twice)
 */
import { emit, env, sagas } from "../sdk/mod.ts";

const task = JSON.parse((await env.get("WARDEN_TASK")) ?? "{}") as { amount?: number };
const outcome = await sagas.run({
  name: "trip to Lisbon",
  steps: [
    {
      name: "flight",
      action: { tool: "book_flight", args: { from: "BER", to: "LIS", date: "2026-12-12" } },
      compensation: { tool: "cancel_flight" },
    },
    {
      name: "hotel",
      action: { tool: "book_hotel", args: { city: "Lisbon", nights: 3 } },
      compensation: { tool: "cancel_hotel" },
    },
    {
      name: "payment",
      action: { tool: "charge_payment", args: { amount: task.amount ?? 840, currency: "EUR" } },
      compensation: { tool: "refund_payment" },
      retry: { attempts: 3, baseMs: 50, maxMs: 400 },
      timeoutMs: 30_000,
    },
  ],
});
console.log(`saga ${outcome.id}: ${outcome.status}${outcome.reason ? ` (${outcome.reason})` : ""}`);
for (const s of outcome.steps) console.log(`  ${s.name}: ${s.status}`);
await emit(outcome);
