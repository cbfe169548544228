/**
 * A7 (FLEET.md §9) with real host processes: trust follows the agent. The rogue example runs on
 * host A, which drives its score below 100 (its attacks are denied, its critical violations
 * demote it, then trust kills it); the same identity is then refused on host B, and B's trust
 * cache holds A's score for that did.
 *
 * "The same identity" needs the agent's key on both hosts. Where a keystore lives when an agent
 * moves is undecided (FLEET.md §11), so the test puts the rogue's key file into B's keystore
 * (`shareKey`: what a shared keystore or an escrow would do). Both wake-up modes.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { freshDatabase } from "./pg.ts";
import { type FleetHost, shareKey, startHosts, stopHosts, until } from "./hosts.ts";
import { connectFleetDb } from "../../runtime/fleet/db.ts";
import { FleetTrustEvent, replayTrust } from "../../runtime/fleet/trust.ts";

const ROGUE = new URL("../../examples/rogue_agent.ts", import.meta.url).pathname;
const opts = { sanitizeResources: false, sanitizeOps: false };

type Agent = { id: string; name: string };
type Entry = { action: string; effect: string; reason: string; agent: { id: string } };

const running = async (h: FleetHost, id: string) =>
  (await h.json<Agent[]>("/api/agents")).some((a) => a.id === id);

/** B's persisted trust cache (`$WARDEN_HOME/trust.json`, saved 200 ms after a change). */
function cachedScore(h: FleetHost, did: string): number | undefined {
  try {
    const f = JSON.parse(Deno.readTextFileSync(join(h.home, "trust.json")));
    return f.agents?.[did]?.score;
  } catch {
    return undefined;
  }
}

for (const wakeup of ["notify", "poll"] as const) {
  Deno.test({
    name: `fleet A7 (${wakeup}): a rogue driven below 100 on A is killed and refused on B`,
    ...opts,
    fn: async () => {
      const url = await freshDatabase();
      const [a, b] = await startHosts(2, url, { config: { wakeup } });
      const db = connectFleetDb(url);
      try {
        const r = await a.api("/api/agents", { body: { module: ROGUE, name: "rogue" } });
        const started = await r.json();
        assertEquals(r.status, 201, JSON.stringify(started));
        const did = (started as Agent).id;
        // The same identity on B: the rogue's key file in B's keystore.
        await shareKey(a, b, "rogue");

        // A: denied, demoted, restarted at ring 3, then killed by trust (score < 100).
        const killed = await until("A kills the rogue for its trust", async () => {
          const rows = await a.json<Entry[]>(`/api/audit?agent=${did}&action=agent.kill`);
          return rows.find((e) => e.reason.includes("trust revoked"));
        }, 90_000).catch(async (e) => {
          // What A did, for the failure message.
          const rows = await a.json<Entry[]>(`/api/audit?agent=${did}`).catch(() => []);
          const [r] = await db.q("row", (s) => s`SELECT * FROM trust_scores WHERE did = ${did}`);
          throw new Error(
            `${(e as Error).message}\nfleet row ${JSON.stringify(r)}\n${
              rows.map((x) => `${x.action} ${x.effect} ${x.reason}`).join("\n")
            }\n${a.lines.join("\n")}`,
          );
        });
        assert(/trust revoked: score \d+ < 100/.test(killed.reason), killed.reason);
        await until("the rogue is gone from A", async () => !(await running(a, did)), 20_000);
        // Demoted, never promoted back while its penalties were still being applied in the
        // database (the cache kept them: runtime/fleet/trust.ts `#adopt`).
        const moves = await a.json<Entry[]>(`/api/audit?agent=${did}&action=agent.ring`);
        assertEquals(moves.filter((e) => /ring 3 -> 2/.test(e.reason)).map((e) => e.reason), []);

        // The fleet: the score row is below 100, it is the pure replay of its events, and the
        // crossing appended exactly one agent_ban of the did.
        // (A's cache moves at once; the row follows as A's outbox drains.)
        const row = await until("the fleet's score is below 100", async () => {
          const [r] = await db.q(
            "row",
            (s) => s`SELECT score, version::int AS version FROM trust_scores WHERE did = ${did}`,
          );
          return r && Number(r.score) < 100 ? r : undefined;
        }, 20_000);
        const evs = (await db.q(
          "events",
          // (A may still be applying later events: the ones the row had when read.)
          (s) =>
            s`SELECT event FROM trust_events WHERE did = ${did} AND version <= ${row.version}
            ORDER BY version`,
        )).map((e) => FleetTrustEvent.parse(e.event));
        assertEquals(evs.length, row.version);
        assertEquals(Number(row.score), replayTrust(evs)!.score);
        const bans = await db.q(
          "bans",
          (s) =>
            s`SELECT pos::int AS pos, reason FROM revocations
            WHERE kind = 'agent_ban' AND target = ${did}`,
        );
        assertEquals(bans.length, 1, JSON.stringify(bans));

        // B applied the ban (its ack; the database's clock on both ends).
        const appliedMs = await until("B applies the ban", async () => {
          const [k] = await db.q(
            "ack",
            (s) =>
              s`SELECT extract(epoch FROM k.at - r.issued_at) * 1000 AS ms
              FROM revocation_acks k JOIN revocations r ON r.pos = k.pos
              WHERE k.pos = ${bans[0].pos} AND k.host_id = ${b.hostId}`,
          );
          return k ? Number(k.ms) : undefined;
        }, 20_000);

        // B: the same identity is refused at the first try once B applied the ban (the ban
        // names the did; B never ran the agent). Its message names the ban.
        const s = await b.api("/api/agents", { body: { module: ROGUE, name: "rogue" } });
        const refused = await s.json() as { error?: string; id?: string };
        assertEquals(s.status, 422, JSON.stringify(refused));
        assert(
          refused.error?.includes(`fleet agent ban #${bans[0].pos} refuses this start of rogue`),
          refused.error,
        );
        // B reads A's score: its trust cache holds the fleet's row for the did.
        const onB = await until(
          "B's trust cache holds A's score",
          () => {
            const s = cachedScore(b, did);
            return s !== undefined && s < 100 ? s : undefined;
          },
          20_000,
        );
        assertEquals(Math.round(onB), Math.round(Number(row.score)));
        console.log(
          `A7 (${wakeup}): the ban was applied on B ${Math.round(appliedMs)} ms after A issued it`,
        );
      } finally {
        await db.close();
        await stopHosts([a, b]);
      }
    },
  });
}
