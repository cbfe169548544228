/**
 * A5, the crash case: the database is killed (`pg_ctl stop -m immediate`) and started again
 * while this process keeps querying (the stop and start do not block it, as they would not block
 * a host) and two real hosts run. After a crash postgres.js can keep sockets that never answer;
 * `runtime/fleet/db.ts` drops such a pool and makes a new one, and makes the LISTEN session
 * anew. Checked: the first query after the database is back succeeds (within a generous bound),
 * queries started a few seconds after it is back do not fail, LISTEN is back on every host and
 * here (a NOTIFY arrives), no host process exits, and a kill across the hosts still works. The
 * figures are printed (the machine is loaded: the bounds asserted are generous).
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import {
  connectFleetDb,
  deadConnection,
  LISTEN_APP,
  ResetBackoff,
} from "../../runtime/fleet/db.ts";
import { startCluster } from "./pg.ts";
import { type FleetHost, startHosts, stopHosts, until } from "./hosts.ts";

const SPINNER = new URL("../server/agents/spinner.ts", import.meta.url).pathname;
const ROUNDS = 3;
/** The test's query deadline (a stuck query fails after this long and resets the pool). */
const DEADLINE_MS = 2_000;
/**
 * Queries started this long after the database is back must succeed. (Before pools were
 * reset, queries on stuck sockets timed out 1.5–6.6 s after it was back.)
 */
const LATE_MS = 1_000;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Agent = { id: string };
const running = async (h: FleetHost, id: string) =>
  (await h.json<Agent[]>("/api/agents")).some((a) => a.id === id);

Deno.test({
  name: "fleet A5: after a crash (-m immediate) the pool and LISTEN come back; no host exits",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cluster = startCluster();
    const url = await cluster.createDatabase();
    const hosts = await startHosts(2, url, { config: { wakeup: "notify" } });
    const [a, b] = hosts;
    const exits: string[] = [];
    for (const h of hosts) h.child.status.then((s) => exits.push(`${h.hostId}: ${s.code}`));
    const resets: string[] = [];
    const db = connectFleetDb(url, { deadlineMs: DEADLINE_MS, onReset: (l) => resets.push(l) });
    let stop = false;
    let relisten: ReturnType<typeof setInterval> | undefined;
    try {
      await db.q("table", (s) => s`CREATE TABLE load (id serial PRIMARY KEY, v text)`);
      let woken = 0;
      await db.listen("warden_test_wake", () => woken++);
      // What the fleet's reconnect loop does (runtime/fleet/mod.ts): re-LISTEN every 500 ms.
      relisten = setInterval(() => db.relisten().catch(() => {}), 500);
      const agent = await b.json<Agent>("/api/agents", {
        body: { module: SPINNER, name: "spin" },
      });

      // The load: 8 workers, queries and transactions, each noting when it started and how
      // it ended.
      const done: { at: number; ok: boolean; why?: string }[] = [];
      const t0 = performance.now();
      const now = () => performance.now() - t0;
      const workers = Array.from({ length: 8 }, async (_, w) => {
        while (!stop) {
          const at = now();
          try {
            if (w % 2) {
              await db.tx("insert", async (tx) => {
                await tx`INSERT INTO load (v) VALUES ('x')`;
                await tx`SELECT pg_sleep(0.01)`;
              });
            } else await db.q("count", (s) => s`SELECT count(*) FROM load`);
            done.push({ at, ok: true });
          } catch (e) {
            done.push({ at, ok: false, why: (e as Error).message });
          }
          await pause(5);
        }
      });
      const figures: string[] = [];
      const late: { at: number; ok: boolean; why?: string }[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        await pause(1_000);
        await cluster.stopAsync("immediate");
        await pause(1_000);
        await cluster.startAsync();
        const back = now();

        // The first query after the database is back (retried: a reset may cost one).
        let firstOk = -1;
        while (firstOk < 0 && now() - back < 30_000) {
          try {
            await db.q("probe", (s) => s`SELECT 1`);
            firstOk = now() - back;
          } catch {
            await pause(50);
          }
        }
        assert(firstOk >= 0, "no query succeeded within 30 s of the database being back");

        // LISTEN is back here (a NOTIFY arrives) and on both hosts (their LISTEN sessions).
        let listenHere = -1;
        const seen = woken;
        await until("a NOTIFY arrives here", async () => {
          await db.q("notify", (s) => s`SELECT pg_notify('warden_test_wake', 'x')`);
          await pause(100);
          if (woken === seen) return undefined;
          listenHere = now() - back;
          return true;
        }, 30_000);
        let listenHosts = -1;
        await until("both hosts LISTEN again", async () => {
          const [r] = await db.q(
            "sessions",
            (s) =>
              s`SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = ${LISTEN_APP}
              AND query LIKE 'LISTEN %'`,
          );
          // Both hosts' sessions and this process's own.
          if (r.n < 3) return undefined;
          listenHosts = now() - back;
          return true;
        }, 30_000);
        // The load runs on: what starts a second after the database is back succeeds (the
        // failures while it was down reset the pool; a query stuck on a dead socket would
        // fail at its deadline and reset it too).
        await pause(Math.max(0, back + 8_000 - now()));
        late.push(...done.filter((d) => d.at > back + LATE_MS && d.at < back + 7_500));
        figures.push(
          `first query ${Math.round(firstOk)} ms, LISTEN here ${Math.round(listenHere)} ms, ` +
            `on both hosts ${Math.round(listenHosts)} ms`,
        );
      }
      stop = true;
      await Promise.all(workers);
      clearInterval(relisten);
      assert(late.length > 0, "no load after the restarts");
      assertEquals(late.filter((d) => !d.ok).map((d) => d.why), []);

      // The hosts are alive and the fleet works: a kill on A reaps B's agent.
      assertEquals(exits, []);
      const r = await a.api(`/api/agents/${agent.id}/kill`, { body: { reason: "after crash" } });
      assertEquals(r.status, 202);
      await r.body?.cancel();
      await until("B reaps the agent", async () => !(await running(b, agent.id)), 30_000);
      assertEquals(exits, []);
      console.log(
        `A5 crash ×${ROUNDS} (after the database is back): ${figures.join("; ")}; ` +
          `${done.filter((d) => !d.ok).length} of ${done.length} load queries failed, ` +
          `none of the ${late.length} started ≥ ${LATE_MS} ms after; ` +
          `${db.resets} pool reset(s)`,
      );
    } finally {
      stop = true;
      clearInterval(relisten);
      await db.close();
      await stopHosts(hosts);
      cluster.destroy();
    }
  },
});

Deno.test("fleet db: which errors reset the pool, and resets are spaced out", () => {
  const coded = (code: string, message = "x") => Object.assign(new Error(message), { code });
  for (const c of ["ECONNRESET", "CONNECTION_CLOSED", "57P01", "57P02", "08006", "TIMEOUT"]) {
    assert(deadConnection(coded(c)), c);
  }
  assert(deadConnection(new Error("This socket has been ended by the other party")));
  // Not the connection's fault: constraint violations, serialization failures, the caller's
  // own errors, a database still starting up (the pool retries that by itself).
  for (const c of ["23505", "40001", "42P01", "57P03"]) assert(!deadConnection(coded(c)), c);
  assert(!deadConnection(new Error("no such saga")));
  assert(!deadConnection(null));
  const b = new ResetBackoff(250, 2_000);
  assert(b.take(0));
  assert(!b.take(100)); // a storm of failures of one outage: one reset per gap
  assert(b.take(250));
  assert(!b.take(600)); // the gap doubled (500)
  assert(b.take(750));
  assert(b.take(1_750)); // 1000
  assert(!b.take(3_700)); // 2000, the most
  assert(b.take(3_750));
  assert(b.take(5_750)); // still 2000 apart
  b.ok(); // a query worked: the next gap is the shortest again
  assert(!b.take(5_800));
  assert(b.take(7_750));
  assert(!b.take(7_900));
  assert(b.take(8_000));
});
