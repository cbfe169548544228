/**
 * `deno task fleet role create NAME [--password-env VAR] [--fleet URL]`
 * `deno task fleet role disable NAME [--fleet URL]`
 * `deno task fleet status [--json] [--fleet URL]`
 *
 * Operator commands for fleet mode, run as the schema owner (the URL's user): create the
 * least-privilege role a host connects as (FLEET.md §5: INSERT+SELECT only on the audit
 * tables), disable one (NOLOGIN and its sessions ended: that host goes into isolation), and
 * show hosts, their policy versions, channels and stream heads. The database down: one line.
 */
import { CliError, type CliSpec, command, type Ctx, runCli, UsageError } from "./runner.ts";
import { connectFleetDb, type FleetDb, FleetDbError, fleetUrl, migrate } from "../fleet/mod.ts";
import { createHostRole, disableHostRole, fleetStatus } from "../fleet/roles.ts";

const ROLE = /^[a-z_][a-z0-9_]{0,62}$/;
const FLEET_OPTION = { fleet: { type: "string" } } as const;
const NOTES =
  "  --fleet URL  the fleet database as its schema owner (postgres://…; or WARDEN_FLEET_URL)";

/** Connect to the fleet database, run `fn`, close; database failures are one line, exit 1. */
async function withDb<T>(flag: string | undefined, fn: (db: FleetDb) => Promise<T>): Promise<T> {
  const url = fleetUrl(flag);
  if (url === undefined) throw new UsageError("--fleet URL (or WARDEN_FLEET_URL) is required");
  let db: FleetDb;
  try {
    db = connectFleetDb(url);
  } catch (e) {
    if (e instanceof FleetDbError) throw new CliError(e.message);
    throw e;
  }
  try {
    return await fn(db);
  } catch (e) {
    if (e instanceof FleetDbError) throw new CliError(e.message);
    throw e;
  } finally {
    await db.close();
  }
}

const ROLE_OPTIONS = { ...FLEET_OPTION, "password-env": { type: "string" } } as const;

/** `role create NAME` / `role disable NAME`. */
async function role({ values: o, positionals }: Ctx<typeof ROLE_OPTIONS>): Promise<number> {
  const [verb, name] = positionals;
  if (verb !== "create" && verb !== "disable") {
    throw new UsageError(`role: expected create or disable, got "${verb}"`);
  }
  if (!ROLE.test(name)) {
    throw new UsageError(`NAME: expected a role name [a-z_][a-z0-9_]* (1-63), got "${name}"`);
  }
  const env = o["password-env"];
  if (verb === "disable") {
    if (env !== undefined) throw new UsageError("--password-env: only with role create");
    await withDb(o.fleet, async (db) => {
      const ended = await disableHostRole(db, name);
      console.log(`role ${name} disabled (login refused; ${ended} session(s) ended)`);
    });
    return 0;
  }
  let password: string | undefined;
  if (env !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) {
      throw new UsageError(`--password-env: expected an environment variable name, got "${env}"`);
    }
    password = Deno.env.get(env);
    if (!password) throw new CliError(`--password-env ${env}: the variable is unset or empty`);
  }
  await withDb(o.fleet, async (db) => {
    const m = await migrate(db);
    await createHostRole(db, name, password);
    console.log(
      `role ${name} ready (schema v${m.version}; audit tables insert+select only)` +
        (password ? "; password set" : ""),
    );
  });
  return 0;
}

const STATUS_OPTIONS = { ...FLEET_OPTION, json: { type: "boolean" } } as const;

async function status({ values: o }: Ctx<typeof STATUS_OPTIONS>): Promise<number> {
  const s = await withDb(o.fleet, fleetStatus);
  if (o.json) {
    console.log(JSON.stringify(s, null, 2));
    return 0;
  }
  const out = [
    `schema v${s.schema}; heads ${Object.entries(s.heads).map(([k, v]) => `${k}=${v}`).join(" ")}`,
  ];
  out.push(`hosts: ${s.hosts.length}`);
  for (const h of s.hosts) {
    const p = h.policy;
    const policy = p
      ? `${p.channel ?? "-"} v${p.active ?? "none"}${p.error ? ` (error: ${p.error})` : ""}`
      : "local policy";
    out.push(`  ${h.id.padEnd(20)} ${h.alive ? "alive  " : "expired"} ${policy}`);
  }
  out.push(`channels: ${s.channels.length}`);
  for (const c of s.channels) {
    const canary = c.canaryVersion === null
      ? ""
      : ` canary v${c.canaryVersion} share ${c.canaryShare}`;
    out.push(`  ${c.name.padEnd(20)} v${c.version}${canary}${c.frozen ? " FROZEN" : ""}`);
  }
  console.log(out.join("\n"));
  return 0;
}

/** `deno task fleet`. */
export const spec: CliSpec = {
  name: "fleet",
  notes: NOTES,
  subcommands: {
    role: command({
      args: "create|disable <name> [--password-env VAR] [--fleet URL]",
      help: "create: the least-privilege login role a host connects as (or update its grants;\n" +
        "  the password is read from the environment variable VAR, never from a flag)\n" +
        "disable: refuse the role's logins and end its sessions (its host goes into isolation)",
      options: ROLE_OPTIONS,
      positionals: [2, 2],
      main: role,
    }),
    status: command({
      args: "[--json] [--fleet URL]",
      help: "hosts (lease, active policy version and error), channels and stream heads",
      options: STATUS_OPTIONS,
      main: status,
    }),
  },
};

if (import.meta.main) await runCli(spec);
