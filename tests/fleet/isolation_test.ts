/**
 * A8 (FLEET.md §9): isolation. Host B alone loses the database (its role NOLOGIN, its sessions
 * terminated); after T_stale (3 s here) B refuses agent starts with one clear line while its
 * running agent continues; a kill issued meanwhile on A applies on B once its access returns,
 * before B leaves isolation. Both wake-up modes.
 */
import { assertEquals } from "../policy/asserts.ts";
import { connectFleetDb } from "../../runtime/fleet/db.ts";
import { grantHostRole, migrate } from "../../runtime/fleet/migrate.ts";
import { sharedCluster } from "./pg.ts";
import { type FleetHost, startHosts, stopHosts, until } from "./hosts.ts";

const SPINNER = new URL("../server/agents/spinner.ts", import.meta.url).pathname;
const SLEEPER = new URL("../server/agents/sleeper.ts", import.meta.url).pathname;
const opts = { sanitizeResources: false, sanitizeOps: false };

const running = async (h: FleetHost, id: string) =>
  (await h.json<{ id: string }[]>("/api/agents")).some((a) => a.id === id);

async function start(h: FleetHost, module: string, name: string) {
  const r = await h.api("/api/agents", { body: { module, name } });
  return { status: r.status, body: await r.json() };
}

for (const wakeup of ["notify", "poll"] as const) {
  Deno.test({
    name:
      `fleet isolation (${wakeup}): B cut off refuses starts, keeps agents, applies kills first`,
    ...opts,
    fn: async () => {
      const cluster = sharedCluster();
      const url = await cluster.createDatabase();
      const db = new URL(url).pathname.slice(1);
      const admin = connectFleetDb(url);
      await migrate(admin);
      for (const role of ["host_0", "host_1"]) await grantHostRole(admin, role);
      const hosts = await startHosts(2, url, {
        config: { wakeup, staleMs: 3_000 },
        urlOf: (i) => cluster.url(db, `host_${i}`),
      });
      const [a, b] = hosts;
      try {
        const spin = await start(b, SPINNER, "spin");
        assertEquals(spin.status, 201);
        await admin.q("cut B", (s) => s.unsafe(`ALTER ROLE host_1 NOLOGIN`));
        await admin.q(
          "cut B",
          (s) => s`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'host_1'`,
        );
        let tries = 0; // a fresh name each time: a stop is a kill, and kills cost trust
        const refused = await until("B refuses starts", async () => {
          const r = await start(b, SLEEPER, `late${tries++}`);
          if (r.status === 201) {
            await b.api(`/api/agents/${r.body.id}/stop`, { body: { reason: "not yet" } });
            await until("stopped", async () => !(await running(b, r.body.id)));
          }
          return r.status === 422 ? r.body.error as string : undefined;
        }, 30_000);
        if (!/^fleet isolation: agent start refused: this host has not caught up/.test(refused)) {
          throw new Error(refused);
        }
        assertEquals(refused.includes("\n"), false);
        assertEquals(await running(b, spin.body.id), true); // running agents continue
        // A is not cut: it still starts agents, and issues the kill.
        const ok = await start(a, SLEEPER, "fine");
        assertEquals(ok.status, 201);
        const k = await a.api(`/api/agents/${spin.body.id}/kill`, { body: { reason: "a8" } });
        assertEquals(k.status, 202);
        await k.body?.cancel();
        await new Promise((r) => setTimeout(r, 1_500));
        assertEquals(await running(b, spin.body.id), true); // B cannot learn of it yet
        await admin.q("restore B", (s) => s.unsafe(`ALTER ROLE host_1 LOGIN`));
        await until("B applies the kill", async () => !(await running(b, spin.body.id)), 30_000);
        const after = await until("B leaves isolation", async () => {
          const r = await start(b, SLEEPER, "later");
          return r.status === 201 ? r : undefined;
        }, 30_000);
        assertEquals(after.status, 201);
        if (!b.lines.some((l) => l.includes("isolated: no catch-up"))) {
          throw new Error(b.lines.join("\n"));
        }
      } finally {
        await stopHosts(hosts);
        await admin.close();
      }
    },
  });
}
