/**
 * A1 (FLEET.md §9): the fleet kill switch across real host processes. A kill issued on host A
 * for a busy-looping agent on host B reaps it on B (audited on both); a ban refuses the
 * agent's start on every host. Both wake-up modes (notify, poll).
 */
import { assertEquals } from "../policy/asserts.ts";
import { type RevocationKind, RevocationState } from "../../runtime/fleet/revocations.ts";
import { freshDatabase } from "./pg.ts";
import { type FleetHost, startHosts, stopHosts, until } from "./hosts.ts";

const SPINNER = new URL("../server/agents/spinner.ts", import.meta.url).pathname;
const opts = { sanitizeResources: false, sanitizeOps: false };

type Agent = { id: string; name: string };
type Entry = { action: string; effect: string; reason: string; agent: { id: string } };

async function startSpinner(h: FleetHost, name: string): Promise<Agent> {
  const r = await h.api("/api/agents", { body: { module: SPINNER, name } });
  const j = await r.json();
  if (r.status !== 201) throw new Error(`start on ${h.hostId}: ${r.status} ${JSON.stringify(j)}`);
  return j as Agent;
}

const running = async (h: FleetHost, id: string) =>
  (await h.json<Agent[]>("/api/agents")).some((a) => a.id === id);

for (const wakeup of ["notify", "poll"] as const) {
  Deno.test({
    name: `fleet kill (${wakeup}): a kill on host A reaps a busy agent on host B, audited on both`,
    ...opts,
    fn: async () => {
      const url = await freshDatabase();
      const [a, b] = await startHosts(2, url, { config: { wakeup } });
      try {
        const agent = await startSpinner(b, "spin-b");
        assertEquals(await running(a, agent.id), false);
        const r = await a.api(`/api/agents/${agent.id}/kill`, { body: { reason: "a1" } });
        assertEquals(r.status, 202);
        const { revocation } = await r.json();
        await until("B reaps the agent", async () => !(await running(b, agent.id)), 20_000);
        // In fleet mode /api/audit answers from the shipped copy: wait for B's entry to ship.
        const onB = await until("B's kill entry is shipped", async () => {
          const rows = await b.json<Entry[]>(`/api/audit?agent=${agent.id}&action=agent.kill`);
          return rows.length > 0 ? rows : undefined;
        }, 20_000);
        assertEquals(onB.length, 1);
        if (!onB[0].reason.includes(`fleet agent kill #${revocation} by local-admin@host-0: a1`)) {
          throw new Error(onB[0].reason);
        }
        await until("A's operator.kill entry is shipped", async () => {
          const onA = await a.json<Entry[]>("/api/audit?action=operator.kill");
          return onA.some((e) => e.reason.includes(`agent_kill #${revocation}`));
        }, 20_000);
        // An unknown agent with no host: still a revocation (every host checks its own).
        const none = await a.api("/api/agents/did:key:znobody/kill", { body: { reason: "x" } });
        assertEquals(none.status, 202);
        await none.body?.cancel();
      } finally {
        await stopHosts([a, b]);
      }
    },
  });

  Deno.test({
    name: `fleet ban (${wakeup}): an agent banned on A is killed on B and refused on all hosts`,
    ...opts,
    fn: async () => {
      const url = await freshDatabase();
      const hosts = await startHosts(3, url, { config: { wakeup } });
      const [a, b, c] = hosts;
      try {
        const agent = await startSpinner(b, "rogue");
        const r = await a.api(`/api/agents/${agent.id}/kill`, {
          body: { reason: "banned", ban: true },
        });
        assertEquals(r.status, 202);
        await r.body?.cancel();
        await until("B reaps the banned agent", async () => !(await running(b, agent.id)), 20_000);
        for (const h of hosts) {
          // The name is banned everywhere (its did differs per host keystore, the name does not:
          // B also refuses the did itself).
          const refused = await until(`${h.hostId} refuses`, async () => {
            const s = await h.api("/api/agents", { body: { module: SPINNER, name: "rogue" } });
            const j = await s.json();
            if (s.status === 201) {
              await h.api(`/api/agents/${j.id}/stop`, { body: { reason: "retry" } });
              return undefined;
            }
            return { status: s.status, error: j.error as string };
          }, 20_000);
          if (h === b) {
            assertEquals(refused.status, 422);
            if (!/fleet agent ban #\d+ refuses this start of rogue/.test(refused.error)) {
              throw new Error(refused.error);
            }
          }
        }
        // a ban without --fleet semantics: a stop cannot ban
        const bad = await c.api(`/api/agents/${agent.id}/stop`, { body: { ban: true } });
        assertEquals(bad.status, 400);
        await bad.body?.cancel();
      } finally {
        await stopHosts(hosts);
      }
    },
  });
}

Deno.test("fleet deny set: each revocation kind refuses what it names, and only that", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const s = new RevocationState(`${dir}/r.json`);
    const entry = (kind: RevocationKind, target: string, pos: number, expiresAt: number | null) =>
      s.state.deny.push({ kind, target, pos, expiresAt });
    entry("agent_ban", "rogue", 1, null);
    entry("key_revoke", "did:key:zStolen", 2, null);
    entry("plugin_revoke", "weather", 3, null);
    entry("host_fence", "host-9", 4, null);
    entry("agent_ban", "lapsed", 5, Date.now() - 1);
    const hit = (kind: "start" | "plugin" | "raise", name: string, did?: string, host = "host-0") =>
      s.denied({ kind, name, did }, host)?.pos;
    assertEquals(hit("start", "rogue"), 1);
    assertEquals(hit("raise", "x", "did:key:zStolen"), 2);
    assertEquals(hit("plugin", "weather"), 3);
    assertEquals(hit("start", "weather"), undefined); // a plugin revocation is not an agent ban
    assertEquals(hit("plugin", "rogue"), undefined);
    assertEquals(hit("start", "anyone", undefined, "host-9"), 4);
    assertEquals(hit("start", "host-9"), undefined); // a ban never matches a host id
    assertEquals(hit("start", "lapsed"), undefined);
    entry("fleet_freeze", "", 6, null);
    assertEquals(hit("start", "anyone"), 6);
    s.save();
    assertEquals(new RevocationState(`${dir}/r.json`).state.deny.length, 6);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
