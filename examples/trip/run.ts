/**
 * `deno task trip`: the trip-booking saga twice under one host, against a loopback travel API.
 *   1. the card is declined: the hotel and the flight are cancelled, in that order;
 *   2. the agent is killed while the payment is in flight: the host compensates for it.
 */
import { join } from "node:path";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { pipeLines } from "../../runtime/supervisor/output.ts";
import { startTravelServer } from "./travel_server.ts";
import { registerTravelTools } from "./tools.ts";
import { type CliSpec, command, runCli } from "../../runtime/cli/runner.ts";
import { FileSagaJournal, journalPath } from "../../runtime/saga/journal.ts";
import { wardenHome } from "../../runtime/state.ts";

const here = new URL(".", import.meta.url).pathname;

async function main(): Promise<number> {
  const travel = startTravelServer();
  const host = new AgentHost({
    policy: loadPolicy([join(here, "policy.yaml")], { builtin: true }),
    rings: loadRings(),
    tools: registerTravelTools(new ToolRegistry(), travel.url),
    // Journaled where `deno task saga list` looks ($WARDEN_HOME, else ~/.local/state/warden).
    sagaJournal: new FileSagaJournal(journalPath(wardenHome())),
  });
  host.audit.subscribe((e) => {
    if (e.action.startsWith("saga.") || (e.action === "tool.call" && e.path === "host")) {
      console.log(`  ${e.effect === "deny" ? "✗" : "·"} ${e.action.padEnd(15)} ${e.reason}`);
    }
  });
  const agent = join(here, "../trip_agent.ts");
  const bookings = () =>
    [...travel.bookings.values()].map((b) => `${b.kind}${b.cancelled ? " (cancelled)" : ""}`).join(
      ", ",
    ) || "none";

  console.log("Run 1: the card is declined");
  travel.failPayments = true;
  const r1 = await host.start({ module: agent, name: "traveller" });
  await Promise.all([
    pipeLines(r1.process.stdout, (l) => console.log(`  [agent] ${l}`)),
    r1.exited,
  ]);
  console.log(`  bookings: ${bookings()}\n`);

  console.log("Run 2: the agent is killed while the payment is in flight");
  travel.failPayments = false;
  travel.bookings.clear();
  travel.paymentDelayMs = 2000;
  const r2 = await host.start({ module: agent, name: "traveller" });
  const unsubscribe = host.audit.subscribe((e) => {
    const saga = e.saga as { event?: string; step?: number } | undefined;
    if (e.action === "saga.step" && saga?.event === "started" && saga.step === 2) {
      setTimeout(() => r2.kill("operator pulled the plug mid-saga"), 200);
    }
  });
  await Promise.all([
    pipeLines(r2.process.stdout, (l) => console.log(`  [agent] ${l}`)),
    r2.exited,
  ]);
  unsubscribe();
  // The host finishes the compensation after the agent is gone.
  for (
    let i = 0;
    i < 100 &&
    (await host.sagas.list()).some((s) => s.status === "compensating" || s.status === "running");
    i++
  ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(`  bookings: ${bookings()}`);
  const last = (await host.sagas.list()).at(-1)!;
  console.log(`  saga ${last.id}: ${last.status} (${last.reason})`);

  await host.close();
  await travel.close();
  return 0;
}

/** `deno task trip`. */
export const spec: CliSpec = {
  name: "trip",
  command: command({
    help:
      "  Runs the trip-booking saga twice against a loopback travel API (a declined card, then\n" +
      "  a kill mid-saga); the sagas are journaled where `deno task saga list` looks.",
    main,
  }),
};

if (import.meta.main) await runCli(spec);
