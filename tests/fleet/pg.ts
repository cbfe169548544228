/**
 * A throwaway PostgreSQL cluster for the fleet tests: `initdb` as the `postgres` user into a
 * temp dir, a free loopback port, fsync on. {@link sharedCluster} starts one per test process
 * (lazily) and stops it at unload; {@link startCluster} gives a test its own (to restart it).
 * Without PostgreSQL's binaries it installs `postgresql-15` with apt-get (as root), else fails
 * with one line saying why.
 */
import postgres from "postgres";
import { freePort } from "../server/host_process.ts";

const PGBIN = "/usr/lib/postgresql/15/bin";

async function runAsync(cmd: string, args: string[], what: string): Promise<void> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!r.success) {
    const err = new TextDecoder().decode(r.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`fleet test cluster: ${what} failed: ${err}`);
  }
}

function run(cmd: string, args: string[], what: string): void {
  const r = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  if (!r.success) {
    const err = new TextDecoder().decode(r.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`fleet test cluster: ${what} failed: ${err}`);
  }
}

let installed = false;
function ensurePostgres(): void {
  if (installed) return;
  try {
    Deno.statSync(`${PGBIN}/initdb`);
    installed = true;
    return;
  } catch { /* not installed */ }
  if (Deno.uid() !== 0) {
    throw new Error(
      `fleet test cluster: ${PGBIN}/initdb is missing and this is not root (apt-get install postgresql-15)`,
    );
  }
  run("apt-get", ["update", "-q"], "apt-get update");
  run("apt-get", ["install", "-y", "-q", "postgresql-15"], "apt-get install postgresql-15");
  installed = true;
}

/** A running (or stopped) test cluster. */
export interface Cluster {
  readonly port: number;
  readonly dir: string;
  /** The superuser URL of `db` (default `postgres`). */
  url(db?: string, user?: string): string;
  /** A new empty database; its superuser URL. */
  createDatabase(): Promise<string>;
  /** Run one SQL statement as the superuser on `db`. */
  exec(sqlText: string, db?: string): Promise<void>;
  start(): void;
  stop(mode?: "fast" | "immediate"): void;
  restart(mode?: "fast" | "immediate"): void;
  /**
   * `stop` without blocking this process: its queries keep running (and failing) while the
   * database goes down, as a host's would.
   */
  stopAsync(mode?: "fast" | "immediate"): Promise<void>;
  /** `start` without blocking this process. */
  startAsync(): Promise<void>;
  /** Stop and delete the cluster. */
  destroy(): void;
}

/** A new cluster of its own, started. */
export function startCluster(): Cluster {
  ensurePostgres();
  const dir = Deno.makeTempDirSync({ prefix: "warden-pg-" });
  run("chown", ["postgres", dir], "chown");
  const port = freePort();
  const asPg = (bin: string, args: string[], what: string) =>
    Deno.uid() === 0
      ? run("runuser", ["-u", "postgres", "--", `${PGBIN}/${bin}`, ...args], what)
      : run(`${PGBIN}/${bin}`, args, what);
  const asPgAsync = (bin: string, args: string[], what: string) =>
    Deno.uid() === 0
      ? runAsync("runuser", ["-u", "postgres", "--", `${PGBIN}/${bin}`, ...args], what)
      : runAsync(`${PGBIN}/${bin}`, args, what);
  asPg("initdb", ["-D", `${dir}/data`, "-U", "warden", "--auth=trust", "-E", "UTF8"], "initdb");
  let running = false;
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir}`;
  const c: Cluster = {
    port,
    dir,
    url: (db = "postgres", user = "warden") => `postgres://${user}@127.0.0.1:${port}/${db}`,
    async createDatabase() {
      const name = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
      await c.exec(`CREATE DATABASE ${name}`);
      return c.url(name);
    },
    async exec(sqlText, db) {
      const sql = postgres(c.url(db), { max: 1, onnotice: () => {}, fetch_types: false });
      try {
        await sql.unsafe(sqlText);
      } finally {
        await sql.end({ timeout: 1 });
      }
    },
    start() {
      asPg("pg_ctl", ["-D", `${dir}/data`, "-l", `${dir}/log`, "-w", "-o", opts, "start"], "start");
      running = true;
    },
    stop(mode = "fast") {
      if (!running) return;
      asPg("pg_ctl", ["-D", `${dir}/data`, "-m", mode, "-w", "stop"], "stop");
      running = false;
    },
    restart(mode = "fast") {
      c.stop(mode);
      c.start();
    },
    async stopAsync(mode = "fast") {
      if (!running) return;
      await asPgAsync("pg_ctl", ["-D", `${dir}/data`, "-m", mode, "-w", "stop"], "stop");
      running = false;
    },
    async startAsync() {
      const args = ["-D", `${dir}/data`, "-l", `${dir}/log`, "-w", "-o", opts, "start"];
      await asPgAsync("pg_ctl", args, "start");
      running = true;
    },
    destroy() {
      try {
        c.stop("immediate");
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    },
  };
  c.start();
  globalThis.addEventListener("unload", () => {
    try {
      c.destroy();
    } catch { /* already gone */ }
  });
  return c;
}

let shared: Cluster | undefined;
/** The test process's shared cluster (started on first use, stopped at unload). */
export function sharedCluster(): Cluster {
  return shared ??= startCluster();
}

/** A fresh database in the shared cluster: its superuser URL. */
export function freshDatabase(): Promise<string> {
  return sharedCluster().createDatabase();
}
