/**
 * `deno task fleet` against a real cluster (issue 21): `role create` makes the least-privilege
 * host role (audit tables insert+select only), `role disable` refuses its logins and ends its
 * sessions, `status` shows the schema, heads, hosts and channels; operator mistakes and a
 * database that is down are one line each.
 */
import postgres from "postgres";
import { assertEquals } from "../policy/asserts.ts";
import { runDeno } from "../cli/run.ts";
import { freePort } from "../server/host_process.ts";
import { sharedCluster } from "./pg.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const fleet = (args: string[], env: Record<string, string> = {}) =>
  runDeno(["task", "-q", "fleet", ...args], undefined, env);

async function asRole(url: string, fn: (sql: postgres.Sql) => Promise<unknown>): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await fn(sql);
    return "ok";
  } catch (e) {
    return (e as Error).message;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

Deno.test({
  name: "fleet CLI: role create/disable and status on a real cluster; mistakes are one line",
  ...opts,
  fn: async () => {
    const cluster = sharedCluster();
    const url = await cluster.createDatabase();
    const db = new URL(url).pathname.slice(1);
    const role = `host_cli_${crypto.randomUUID().slice(0, 6)}`;

    // No schema yet: status says so in one line.
    const empty = await fleet(["status", "--fleet", url]);
    assertEquals(empty.code, 1);
    assertEquals(empty.stderr.trim().split("\n").length, 1);
    if (!empty.stderr.includes("no fleet schema yet")) throw new Error(empty.stderr);

    const made = await fleet(["role", "create", role, "--password-env", "PW", "--fleet", url], {
      PW: "s3cret-pw",
    });
    assertEquals(made.code, 0, made.stderr);
    if (!made.stdout.startsWith(`role ${role} ready (schema v`)) throw new Error(made.stdout);
    if (!made.stdout.includes("password set")) throw new Error(made.stdout);

    const hostUrl = cluster.url(db, role);
    assertEquals(await asRole(hostUrl, (s) => s`SELECT count(*) FROM audit_entries`), "ok");
    const del = await asRole(hostUrl, (s) => s`DELETE FROM audit_entries`);
    if (!del.includes("permission denied")) throw new Error(del);

    const status = await fleet(["status", "--fleet", url]);
    assertEquals(status.code, 0, status.stderr);
    if (
      !/^schema v\d+; heads policy=0 revocations=0\nhosts: 0\nchannels: 0$/.test(
        status.stdout.trim(),
      )
    ) {
      throw new Error(status.stdout);
    }

    // Disable while the role holds a session: the session ends, new logins are refused.
    const held = postgres(hostUrl, { max: 1, onnotice: () => {} });
    await held`SELECT 1`;
    const off = await fleet(["role", "disable", role, "--fleet", url]);
    assertEquals(off.code, 0, off.stderr);
    assertEquals(off.stdout.trim(), `role ${role} disabled (login refused; 1 session(s) ended)`);
    await held.end({ timeout: 1 }).catch(() => {});
    const refused = await asRole(hostUrl, (s) => s`SELECT 1`);
    if (!refused.includes("not permitted to log in")) throw new Error(refused);

    // Create again: the role may log in again.
    assertEquals((await fleet(["role", "create", role, "--fleet", url])).code, 0);
    assertEquals(await asRole(hostUrl, (s) => s`SELECT count(*) FROM audit_entries`), "ok");

    // Mistakes: one line each.
    const cases: [string[], number, string, Record<string, string>?][] = [
      [["role", "disable", "nobody_here", "--fleet", url], 1, 'fleet role: no role "nobody_here"'],
      [["role", "create", "Bad-Name", "--fleet", url], 2, "NAME: expected a role name"],
      [["role", "drop", role, "--fleet", url], 2, 'role: expected create or disable, got "drop"'],
      [
        ["role", "create", role, "--password-env", "NO_SUCH_VAR_X", "--fleet", url],
        1,
        "--password-env NO_SUCH_VAR_X: the variable is unset or empty",
      ],
      [
        ["role", "disable", role, "--password-env", "PW", "--fleet", url],
        2,
        "--password-env: only with role create",
      ],
      [["status"], 2, "--fleet URL (or WARDEN_FLEET_URL) is required"],
      [["status", "--fleet", "mysql://x"], 1, "want a postgres:// URL"],
      [
        ["status", "--fleet", `postgres://warden@127.0.0.1:${freePort()}/postgres`],
        1,
        "connection refused (is the database running?)",
      ],
    ];
    for (const [args, code, line, env] of cases) {
      const r = await fleet(args, env);
      assertEquals(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      const first = r.stderr.trim().split("\n")[0];
      if (!first.includes(line)) throw new Error(`${args.join(" ")}: ${r.stderr}`);
      if (code === 1) assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
      if (r.stderr.includes("    at ")) throw new Error(`a stack trace: ${r.stderr}`);
    }
  },
});
