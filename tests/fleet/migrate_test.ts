/** Fleet schema: migrations race safely, the host role is least-privilege, errors are one line. */
import { assertEquals } from "../policy/asserts.ts";
import { connectFleetDb, FleetDbError } from "../../runtime/fleet/db.ts";
import { fleetTables, grantHostRole, migrate } from "../../runtime/fleet/migrate.ts";
import { MIGRATIONS } from "../../runtime/fleet/migrations/mod.ts";
import { freshDatabase, sharedCluster } from "./pg.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name: "fleet migrate: three racing hosts apply each migration once; a rerun applies nothing",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const dbs = [0, 1, 2].map(() => connectFleetDb(url));
    try {
      const rs = await Promise.all(dbs.map((d) => migrate(d)));
      const applied = rs.flatMap((r) => r.applied);
      const all = MIGRATIONS.map((m) => m.version);
      assertEquals(applied.sort((a, b) => a - b), all);
      assertEquals((await migrate(dbs[0])).applied, []);
      const rows = await dbs[0].q("versions", (s) => s`SELECT version FROM schema_version`);
      assertEquals(rows.map((r) => r.version).sort((a, b) => a - b), [0, ...all]);
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }
  },
});

Deno.test({
  name: "fleet host role: append-only tables refuse UPDATE and DELETE; others are writable",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const admin = connectFleetDb(url);
    const extra = {
      version: 2,
      name: "test_append",
      sql: "CREATE TABLE t_append (n int PRIMARY KEY);",
      appendOnly: ["t_append"],
    };
    const migrations = [MIGRATIONS[0], extra];
    await migrate(admin, migrations);
    await grantHostRole(admin, "host_a", { migrations });
    assertEquals(fleetTables(migrations).filter((t) => t.appendOnly).map((t) => t.table), [
      "t_append",
    ]);
    const u = new URL(url);
    u.username = "host_a";
    const host = connectFleetDb(u.href);
    try {
      await host.q("insert", (s) => s`INSERT INTO t_append (n) VALUES (1)`);
      assertEquals((await host.q("select", (s) => s`SELECT n FROM t_append`)).length, 1);
      for (const stmt of ["UPDATE t_append SET n = 2", "DELETE FROM t_append"]) {
        const e = await host.q("tamper", (s) => s.unsafe(stmt)).catch((e) => e);
        if (!(e instanceof FleetDbError) || !/permission denied/.test(e.message)) throw e;
      }
      await host.q(
        "hosts",
        (s) => s`INSERT INTO hosts (id, did, lease_expires) VALUES ('a', 'did:x', now())`,
      );
      await host.q("hosts", (s) => s`DELETE FROM hosts`);
      assertEquals((await migrate(host, migrations)).applied, []);
    } finally {
      await host.close();
      await admin.close();
    }
  },
});

Deno.test({
  name: "fleet db errors are one line: bad URL, database down",
  ...opts,
  fn: async () => {
    for (const bad of ["nonsense", "http://x/y", "postgres://"]) {
      let msg = "";
      try {
        connectFleetDb(bad);
      } catch (e) {
        msg = (e as Error).message;
      }
      if (!msg.startsWith("--fleet: ") || msg.includes("\n")) throw new Error(msg);
    }
    const c = sharedCluster();
    const db = connectFleetDb(`postgres://warden@127.0.0.1:${c.port + 0}/nope_${Date.now()}`);
    const e1 = await db.q("probe", (s) => s`SELECT 1`).catch((e) => e);
    if (!(e1 instanceof FleetDbError) || e1.message.includes("\n")) throw e1;
    await db.close();
    const { freePort } = await import("../server/host_process.ts");
    const down = connectFleetDb(`postgres://warden@127.0.0.1:${freePort()}/postgres`);
    const e2 = await down.q("probe", (s) => s`SELECT 1`).catch((e) => e);
    assertEquals(
      e2.message,
      "fleet database (probe): connection refused (is the database running?)",
    );
    await down.close();
  },
});
