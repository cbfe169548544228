/**
 * Operator actions on host roles and the fleet's state at a glance, for `deno task fleet`
 * (runtime/cli/fleet.ts). Roles are created and granted by {@link grantHostRole}; here a role
 * is disabled (NOLOGIN, its sessions ended: the host is cut off and goes into isolation after
 * `T_stale`) or enabled again, and {@link fleetStatus} reads hosts, channels and heads.
 */
import { type FleetDb, FleetDbError } from "./db.ts";
import { grantHostRole } from "./migrate.ts";

const ROLE = /^[a-z_][a-z0-9_]{0,62}$/;

function checkRole(role: string): void {
  if (!ROLE.test(role)) throw new FleetDbError(`fleet role: bad name "${role}" (want [a-z_0-9])`);
}

/** Create (or update) the host role `role`, allowed to log in, with a host's grants. */
export async function createHostRole(
  db: FleetDb,
  role: string,
  password?: string,
): Promise<void> {
  checkRole(role);
  await grantHostRole(db, role, { password });
  await db.q("enable host role", (sql) => sql.unsafe(`ALTER ROLE "${role}" LOGIN`));
}

/**
 * Disable `role`: no new logins, and its open sessions are ended. Returns the number of
 * sessions ended; throws when there is no such role.
 */
export async function disableHostRole(db: FleetDb, role: string): Promise<number> {
  checkRole(role);
  return await db.tx("disable host role", async (tx) => {
    const [r] = await tx`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ${role}`;
    if (r.n === 0) throw new FleetDbError(`fleet role: no role "${role}"`);
    await tx.unsafe(`ALTER ROLE "${role}" NOLOGIN`);
    const ended = await tx`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
      WHERE usename = ${role} AND pid <> pg_backend_pid()`;
    return ended.filter((e) => e.ok).length;
  });
}

/** One host row as `fleet status` shows it. */
export interface HostStatus {
  id: string;
  did: string;
  alive: boolean;
  leaseExpires: string | null;
  policy: { channel?: string; active?: number | null; error?: string | null } | null;
}

/** One channel row. */
export interface ChannelStatus {
  name: string;
  version: number;
  canaryVersion: number | null;
  canaryShare: number;
  frozen: boolean;
}

/** The fleet at a glance. */
export interface FleetStatus {
  schema: number;
  hosts: HostStatus[];
  channels: ChannelStatus[];
  /** Stream positions (`policy`, `revocations`). */
  heads: Record<string, number>;
}

/** Read the fleet's hosts, channels and stream heads (no schema: a one-line error). */
export async function fleetStatus(db: FleetDb): Promise<FleetStatus> {
  return await db.q("fleet status", async (sql) => {
    const [t] = await sql`SELECT to_regclass('schema_version') IS NOT NULL AS present`;
    if (!t.present) {
      throw new FleetDbError(
        `fleet database ${db.where}: no fleet schema yet (start a host or run \`deno task fleet role create NAME\`)`,
      );
    }
    const [v] = await sql`SELECT coalesce(max(version), 0)::int AS v FROM schema_version`;
    const hosts = await sql`SELECT id, did, lease_expires, lease_expires > now() AS alive,
      status FROM hosts ORDER BY id`;
    const channels = await sql`SELECT name, version, canary_version, canary_share, frozen
      FROM policy_channels ORDER BY name`;
    const heads = await sql`SELECT stream, pos FROM stream_heads ORDER BY stream`;
    return {
      schema: v.v as number,
      hosts: hosts.map((h) => ({
        id: String(h.id),
        did: String(h.did ?? ""),
        alive: h.alive === true,
        leaseExpires: h.lease_expires ? new Date(h.lease_expires).toISOString() : null,
        policy: h.status?.policy ?? null,
      })),
      channels: channels.map((c) => ({
        name: String(c.name),
        version: Number(c.version),
        canaryVersion: c.canary_version === null ? null : Number(c.canary_version),
        canaryShare: Number(c.canary_share),
        frozen: c.frozen === true,
      })),
      heads: Object.fromEntries(heads.map((h) => [String(h.stream), Number(h.pos)])),
    };
  });
}
