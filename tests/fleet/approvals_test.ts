/**
 * A6 (FLEET.md §9): one approval queue for the fleet. A request parked on host B is listed and
 * approved through host A's API and B's agent proceeds; a second approval and a wrong hash are
 * 409; a timeout denies (audited); the database down denies a new approval naming the fleet
 * queue. Both wake-up modes.
 */
import { assertEquals } from "../policy/asserts.ts";
import { type Cluster, freshDatabase, startCluster } from "./pg.ts";
import { type FleetHost, startHosts, stopHosts, until } from "./hosts.ts";

const ASKER = new URL("../server/agents/asker.ts", import.meta.url).pathname;
const opts = { sanitizeResources: false, sanitizeOps: false };

type Pending = { id: string; hash: string; agent: { id: string } };
type Entry = { action: string; effect: string; reason: string; approver?: string };

async function ask(h: FleetHost, name: string): Promise<string> {
  const r = await h.api("/api/agents", { body: { module: ASKER, name } });
  const j = await r.json();
  if (r.status !== 201) throw new Error(`start: ${r.status} ${JSON.stringify(j)}`);
  return j.id;
}

const approvals = (h: FleetHost, agent: string) =>
  until(`${h.hostId} lists the approval`, async () => {
    const list = await h.json<Pending[]>("/api/approvals");
    return list.find((p) => p.agent.id === agent);
  }, 30_000);

const decide = (h: FleetHost, id: string, hash: string, verb = "approve") =>
  h.api(`/api/approvals/${id}/${verb}`, { body: { hash } });

const audited = (h: FleetHost, effect: string) =>
  until(`${h.hostId} audits the approval`, async () => {
    const list = await h.json<Entry[]>("/api/audit?action=approval");
    return list.find((e) => e.effect === effect);
  }, 30_000);

for (const wakeup of ["notify", "poll"] as const) {
  Deno.test({
    name:
      `fleet approvals (${wakeup}): parked on B, approved on A once; wrong hash and 2nd are 409`,
    ...opts,
    fn: async () => {
      const url = await freshDatabase();
      const [a, b] = await startHosts(2, url, { config: { wakeup } });
      try {
        const agent = await ask(b, "asker");
        const p = await approvals(a, agent);
        const wrong = await decide(a, p.id, "0".repeat(64));
        assertEquals(wrong.status, 409);
        await wrong.body?.cancel();
        const ok = await decide(a, p.id, p.hash);
        assertEquals(ok.status, 200);
        await ok.body?.cancel();
        const e = await audited(b, "allow");
        assertEquals(e.approver, "local-admin@host-0");
        for (const h of [a, b]) {
          const again = await decide(h, p.id, p.hash, h === a ? "approve" : "deny");
          assertEquals(again.status, 409);
          await again.body?.cancel();
        }
        const unknown = await decide(a, crypto.randomUUID(), p.hash);
        assertEquals(unknown.status, 404);
        await unknown.body?.cancel();
        assertEquals((await a.json<Pending[]>("/api/approvals")).length, 0);
      } finally {
        await stopHosts([a, b]);
      }
    },
  });
}

Deno.test({
  name: "fleet approvals: a racing approve and deny from two hosts decide once",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const hosts = await startHosts(3, url);
    try {
      const agent = await ask(hosts[2], "racer");
      const p = await approvals(hosts[0], agent);
      const rs = await Promise.all([
        decide(hosts[0], p.id, p.hash, "approve"),
        decide(hosts[1], p.id, p.hash, "deny"),
        decide(hosts[2], p.id, p.hash, "approve"),
      ]);
      for (const r of rs) await r.body?.cancel();
      assertEquals(rs.filter((r) => r.status === 200).length, 1);
      assertEquals(rs.filter((r) => r.status === 409).length, 2);
      const list = await until("one decision audited", async () => {
        const l = await hosts[2].json<Entry[]>("/api/audit?action=approval");
        return l.length ? l : undefined;
      });
      await new Promise((r) => setTimeout(r, 1500));
      assertEquals((await hosts[2].json<Entry[]>("/api/audit?action=approval")).length, 1);
      assertEquals(list.length, 1);
    } finally {
      await stopHosts(hosts);
    }
  },
});

Deno.test({
  name: "fleet approvals: a timeout denies (audited); the database down denies naming the queue",
  ...opts,
  fn: async () => {
    const cluster: Cluster = startCluster();
    const url = await cluster.createDatabase();
    const [b] = await startHosts(1, url, { config: { approvalTtlMs: 1500, staleMs: 600_000 } });
    try {
      await ask(b, "waiter");
      const t = await audited(b, "deny");
      if (!t.reason.includes("approval timed out")) throw new Error(t.reason);
      cluster.stop();
      await ask(b, "offline");
      const d = await until("the database-down denial", async () => {
        const l = await b.json<Entry[]>("/api/audit?action=approval");
        return l.find((e) => e.reason.includes("fleet approval queue unavailable"));
      });
      assertEquals(d.effect, "deny");
    } finally {
      await stopHosts([b]);
      cluster.destroy();
    }
  },
});
