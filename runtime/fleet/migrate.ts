/**
 * Schema migrations and the least-privilege host role.
 *
 * {@link migrate} applies the missing steps of `./migrations/mod.ts` in one transaction under
 * a lock row (`schema_version` version 0, `SELECT … FOR UPDATE`): no advisory lock, so it works
 * the same in `poll` mode and on databases without them. A host that finds the schema current
 * takes no lock (a least-privilege role never needs to write it).
 */
import { type FleetDb, FleetDbError, type Sql } from "./db.ts";
import { type Migration, MIGRATIONS } from "./migrations/mod.ts";

const CREATE_VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_version (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** The result of {@link migrate}. */
export interface Migrated {
  /** The schema version now. */
  version: number;
  /** The versions this call applied (empty when the schema was current). */
  applied: number[];
}

async function currentVersion(sql: Sql): Promise<number | undefined> {
  const [t] = await sql`SELECT to_regclass('schema_version') IS NOT NULL AS present`;
  if (!t.present) return undefined;
  const [r] = await sql`SELECT coalesce(max(version), 0)::int AS v FROM schema_version`;
  return r.v as number;
}

function checkOrder(migrations: readonly Migration[]): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new FleetDbError(
        `fleet migrations: "${m.name}" is version ${m.version}, want ${i + 1}`,
      );
    }
  });
  return migrations.length;
}

/** Bring the schema to the newest version in `migrations` (idempotent, safe to race). */
export async function migrate(
  db: FleetDb,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<Migrated> {
  const newest = checkOrder(migrations);
  const now = await db.q("schema version", currentVersion);
  if (now !== undefined && now > newest) {
    throw new FleetDbError(
      `fleet database schema is version ${now}; this host knows up to ${newest} (upgrade the host)`,
    );
  }
  if (now === newest) return { version: now, applied: [] };
  // Two hosts may race to create the table: the loser's duplicate error is retried once.
  for (let attempt = 0;; attempt++) {
    try {
      await db.q("create schema_version", (sql) => sql.unsafe(CREATE_VERSION_TABLE));
      await db.q(
        "schema lock row",
        (sql) =>
          sql`INSERT INTO schema_version (version, name) VALUES (0, 'lock') ON CONFLICT DO NOTHING`,
      );
      break;
    } catch (e) {
      if (attempt > 0 || !/duplicate|already exists/i.test((e as Error).message)) throw e;
    }
  }
  return await db.tx("migrate", async (tx) => {
    await tx`SELECT version FROM schema_version WHERE version = 0 FOR UPDATE`;
    const [r] = await tx`SELECT coalesce(max(version), 0)::int AS v FROM schema_version`;
    const from = r.v as number;
    const applied: number[] = [];
    for (const m of migrations.slice(from)) {
      await tx.unsafe(m.sql);
      await tx`INSERT INTO schema_version (version, name) VALUES (${m.version}, ${m.name})`;
      applied.push(m.version);
    }
    return { version: Math.max(from, newest), applied };
  }, 60_000);
}

/** The tables the migrations create, with whether host roles may only append to them. */
export function fleetTables(
  migrations: readonly Migration[] = MIGRATIONS,
): { table: string; appendOnly: boolean }[] {
  const out: { table: string; appendOnly: boolean }[] = [];
  for (const m of migrations) {
    const append = new Set(m.appendOnly ?? []);
    for (const [, t] of m.sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?([a-z_][a-z0-9_]*)/gi)) {
      out.push({ table: t, appendOnly: append.has(t) });
    }
  }
  return out;
}

const ROLE = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Create (if absent) the login role `role` for a host and grant it what a host needs:
 * read/write on the fleet tables, INSERT+SELECT only on the migrations' `appendOnly` tables,
 * SELECT on `schema_version`. Run as the schema owner after {@link migrate}.
 */
export async function grantHostRole(
  db: FleetDb,
  role: string,
  opts: { password?: string; migrations?: readonly Migration[] } = {},
): Promise<void> {
  if (!ROLE.test(role)) throw new FleetDbError(`fleet role: bad name "${role}" (want [a-z_0-9])`);
  const pw = opts.password === undefined
    ? ""
    : ` PASSWORD '${opts.password.replaceAll("'", "''")}'`;
  await db.tx("grant host role", async (tx) => {
    const [r] = await tx`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ${role}`;
    if (r.n === 0) await tx.unsafe(`CREATE ROLE "${role}" LOGIN${pw}`);
    else if (pw) await tx.unsafe(`ALTER ROLE "${role}"${pw}`);
    await tx.unsafe(`GRANT USAGE ON SCHEMA public TO "${role}"`);
    await tx.unsafe(`GRANT SELECT ON schema_version TO "${role}"`);
    for (const { table, appendOnly } of fleetTables(opts.migrations)) {
      const rights = appendOnly ? "SELECT, INSERT" : "SELECT, INSERT, UPDATE, DELETE";
      await tx.unsafe(`REVOKE ALL ON "${table}" FROM "${role}"`);
      await tx.unsafe(`GRANT ${rights} ON "${table}" TO "${role}"`);
    }
  });
}
