/**
 * A4 audit federation: each host's exact lines and checkpoints are shipped losslessly (resumed
 * at `max(seq)`, never doubled); `audit verify --fleet` exits 0 on the shipped chains and 1
 * naming (host, seq) for a changed byte, a deleted row or a forged checkpoint key; the
 * cross-host query returns every host's rows in ts order; host roles cannot rewrite rows.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import type { AuditFields } from "../../governance/audit/mod.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { connectFleetDb, type FleetDb } from "../../runtime/fleet/db.ts";
import { grantHostRole, migrate } from "../../runtime/fleet/migrate.ts";
import { AuditShipper } from "../../runtime/fleet/audit_ship.ts";
import { queryFleetAudit, verifyFleet } from "../../runtime/fleet/audit_verify.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { freshDatabase } from "./pg.ts";
import { startHosts, stopHosts, until } from "./hosts.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const CLI = new URL("../../runtime/cli/audit.ts", import.meta.url).pathname;

const fields = (host: number, i: number): AuditFields => ({
  ts: new Date(1_700_000_000_000 + i * 10 + host).toISOString(),
  path: "broker",
  agent: { id: `did:key:z6Mk${i % 2 ? "Odd" : "Even"}`, name: i % 2 ? "odd" : "even", ring: 2 },
  action: i % 2 ? "fs.read" : "net.connect",
  resource: `/ws/h${host}/file-${i}`,
  effect: i % 3 ? "allow" : "deny",
  rule: null,
  reason: `reason ${i} — "quoted" \u2028 and ünïcode`,
});

interface HostLog {
  id: string;
  path: string;
  log: AuditLog;
  did: string;
}

async function hostLog(dir: string, n: number, db: FleetDb, h: number): Promise<HostLog> {
  const signer = await new Keystore(join(dir, `keys-${h}`)).signer("host");
  const path = join(dir, `audit-${h}.jsonl`);
  const log = new AuditLog(path, { signer, checkpointEvery: 100, checkpointMs: 60_000 });
  for (let i = 0; i < n; i++) {
    log.append(fields(h, i));
    log.commit();
  }
  await log.checkpoint();
  const id = `host-${h}`;
  await db.q(
    "host row",
    (s) => s`INSERT INTO hosts (id, did, lease_expires) VALUES (${id}, ${signer.did}, now())`,
  );
  return { id, path, log, did: signer.did };
}

async function cli(url: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "verify", "--fleet", url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test({
  name: "fleet audit: 3 hosts ship losslessly; verify --fleet is clean, then names tampering",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const db = connectFleetDb(url);
    await migrate(db);
    const dir = Deno.makeTempDirSync({ prefix: "warden-fleet-audit-" });
    try {
      const hosts = await Promise.all([0, 1, 2].map((h) => hostLog(dir, 1234, db, h)));
      for (const h of hosts) {
        // Ship part, stop (a restart), ship the rest from max(seq): nothing doubled.
        const s1 = new AuditShipper({ db, hostId: h.id, path: h.path, batch: 500 });
        await s1.tick();
        assertEquals(s1.shipped, 1234);
        await db.q(
          "cut",
          (s) => s`DELETE FROM audit_entries WHERE host_id = ${h.id} AND seq >= 700`,
        );
        const s2 = new AuditShipper({ db, hostId: h.id, path: h.path });
        assert(await s2.drain());
        assertEquals(s2.shipped, 1234);
        // More entries after the restart arrive too.
        for (let i = 1234; i < 1300; i++) h.log.append(fields(Number(h.id.slice(5)), i));
        h.log.commit();
        await h.log.checkpoint();
        assert(await s2.drain());
        const [c] = await db.q(
          "count",
          (s) =>
            s`SELECT count(*)::int AS n, max(seq)::int AS m FROM audit_entries WHERE host_id = ${h.id}`,
        );
        assertEquals([c.n, c.m], [1300, 1299]);
        await h.log.close();
      }
      const clean = await cli(url);
      assertEquals(clean.code, 0, clean.out);
      assertEquals(clean.out.match(/^ok: host /gm)?.length, 3, clean.out);
      assert((await verifyFleet(db)).every((v) => v.ok && v.covered === 1300));

      // Cross-host query by agent: rows of all three hosts, in ts order.
      const rows = await queryFleetAudit(db, { agent: "odd", limit: 100 });
      assertEquals(rows.length, 100);
      assertEquals(new Set(rows.map((r) => r.host)).size, 3);
      const ts = rows.map((r) => r.ts as string);
      assertEquals(ts, [...ts].sort());
      assert(rows.every((r) => (r.agent as { name: string }).name === "odd"));

      // One changed byte in one row of host-1.
      await db.q(
        "tamper",
        (s) =>
          s`UPDATE audit_entries SET line = replace(line, 'reason 517', 'reason 518')
          WHERE host_id = 'host-1' AND seq = 517`,
      );
      let r = await cli(url);
      assertEquals(r.code, 1, r.out);
      assert(/host host-1: first bad entry seq 517/.test(r.out), r.out);
      assert(/^ok: host host-0/m.test(r.out) && /^ok: host host-2/m.test(r.out), r.out);
      // A deleted row of host-2 (a gap), and a deleted tail of host-0 (below a checkpoint).
      await db.q(
        "delete",
        (s) => s`DELETE FROM audit_entries WHERE host_id = 'host-2' AND seq = 40`,
      );
      await db.q(
        "tail",
        (s) => s`DELETE FROM audit_entries WHERE host_id = 'host-0' AND seq >= 1290`,
      );
      r = await cli(url);
      assertEquals(r.code, 1, r.out);
      assert(/host host-2: first bad entry seq 40: entry 40 is missing/.test(r.out), r.out);
      assert(/host host-0: first bad entry seq 1290/.test(r.out), r.out);
      // Checkpoints must be signed by the host's own did.
      await db.q("forge", (s) => s`UPDATE hosts SET did = ${hosts[0].did} WHERE id = 'host-1'`);
      const v = (await verifyFleet(db, { only: "host-1" }))[0];
      assert(!v.ok && /signed by/.test(v.problem!), v.problem!);
    } finally {
      await db.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "fleet audit: a host role may insert and read audit rows, never change or delete them",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const admin = connectFleetDb(url);
    await migrate(admin);
    await grantHostRole(admin, "host_a");
    const u = new URL(url);
    u.username = "host_a";
    const db = connectFleetDb(u.toString());
    try {
      await db.q(
        "insert",
        (s) => s`INSERT INTO audit_entries (host_id, seq, ts, line) VALUES ('a', 0, now(), '{}')`,
      );
      assertEquals((await db.q("read", (s) => s`SELECT seq FROM audit_entries`)).length, 1);
      for (const stmt of ["UPDATE audit_entries SET line = 'x'", "DELETE FROM audit_entries"]) {
        let err = "";
        await db.q("rewrite", (s) => s.unsafe(stmt)).catch((e) => (err = e.message));
        assert(/permission denied/.test(err), `${stmt}: ${err}`);
      }
    } finally {
      await db.close();
      await admin.close();
    }
  },
});

Deno.test({
  name: "fleet audit: real host processes ship their logs; the fleet view and query see them",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const db = connectFleetDb(url);
    const hosts = await startHosts(2, url);
    try {
      // An audited operator action on each host reaches the database, under its id.
      for (const h of hosts) {
        const r = await h.api(`/api/agents/did:key:z6MkNobody${h.index}/kill`, {
          body: { reason: "audit shipping test" },
        });
        await r.body?.cancel();
      }
      await until("both hosts shipped", async () => {
        const rows = await db.q(
          "hosts",
          (s) => s`SELECT host_id, count(*)::int AS n FROM audit_entries GROUP BY host_id`,
        );
        if (rows.length === 2) return true;
        const st = await db.q("status", (s) => s`SELECT id, status->'audit' AS a FROM hosts`);
        throw new Error(JSON.stringify(st));
      }, 60_000);
      // Each host checkpoints within a second; the shipper sends it after the lines.
      await until("both hosts' checkpoints shipped", async () => {
        const [r] = await db.q(
          "cps",
          (s) => s`SELECT count(DISTINCT host_id)::int AS n FROM audit_checkpoints`,
        );
        return r.n === 2 || undefined;
      }, 60_000);
      const view = await hosts[0].json<{ hosts: { id: string; live: boolean }[] }>("/api/fleet");
      assertEquals(
        view.hosts.map((h) => [h.id, h.live]).sort(),
        hosts.map((h) => [h.hostId, true]),
      );
      const rows = await hosts[1].json<{ host: string }[]>("/api/audit?limit=1000");
      assertEquals(new Set(rows.map((r) => r.host)).size, 2);
    } finally {
      await stopHosts(hosts);
    }
    try {
      const r = await cli(url);
      assertEquals(r.code, 0, r.out);
      assertEquals(r.out.match(/^ok: host /gm)?.length, 2, r.out);
    } finally {
      await db.close();
    }
  },
});
