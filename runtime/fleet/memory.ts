/**
 * Fleet mode's agent memory: the part that points the host's memory service at the fleet
 * database (`./memory_store.ts`) when the fleet starts, before any agent runs, so agents on
 * every host share one store (their own namespaces and the shared ones policy names). The
 * SQLite file of single-host mode is not used in a fleet. Every host also deletes expired
 * entries once a minute (a full namespace sweeps its own at once; a failed sweep waits for the
 * next tick).
 * @module
 */
import type { FleetPartFactory } from "./mod.ts";
import { PgMemoryStore } from "./memory_store.ts";

export { PgMemoryStore } from "./memory_store.ts";

/** How often a host sweeps expired memory entries (ms). */
export const MEMORY_SWEEP_MS = 60_000;

/** The memory part: selects the fleet store (the connection stays the fleet's to close). */
export const memoryPart: FleetPartFactory = (ctx) => {
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    name: "memory",
    start() {
      const store = new PgMemoryStore(ctx.db, ctx.hostId, ctx.config.queryDeadlineMs);
      ctx.host.memory.use(store);
      timer = setInterval(() => {
        store.sweep(Date.now()).catch(() => {});
      }, MEMORY_SWEEP_MS);
      Deno.unrefTimer(timer);
    },
    close() {
      clearInterval(timer);
    },
  };
};
