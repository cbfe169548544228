/**
 * The fleet database connection (PostgreSQL through postgres.js). Every query goes through
 * {@link FleetDb.q} with a deadline, and every failure is a {@link FleetDbError}: one line
 * naming what failed (a bad URL, the database down, a refused login, a timeout), never a stack.
 *
 * Wake-ups: {@link FleetDb.listen} is a dedicated one-connection LISTEN session that is
 * re-issued after a reconnect ({@link FleetDb.relisten}); NOTIFY is lossy, so callers always
 * also poll (see `watch` in `./mod.ts`). In `poll` mode nothing here LISTENs or NOTIFYs.
 */
import postgres from "postgres";

/** The postgres.js client (tagged-template queries, `begin` for transactions). */
export type Sql = postgres.Sql;
/** A transaction's client (what `sql.begin` passes). */
export type Tx = postgres.TransactionSql;

/** A fleet database failure, in one line. */
export class FleetDbError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = "FleetDbError";
  }
}

/** How hosts learn about new rows: LISTEN/NOTIFY plus polling, or polling only. */
export type Wakeup = "notify" | "poll";

/** Default deadline of one query or transaction (ms). */
export const QUERY_DEADLINE_MS = 5_000;

/** The fleet URL: the flag when given, else `WARDEN_FLEET_URL`, else undefined (single host). */
export function fleetUrl(flag?: string): string | undefined {
  if (flag !== undefined) return flag;
  try {
    return Deno.env.get("WARDEN_FLEET_URL") || undefined;
  } catch {
    return undefined; // no env permission: no fleet from the environment
  }
}

/** Check `url` is a postgres URL; returns `host:port/db` for messages, or throws one line. */
export function checkFleetUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FleetDbError(`--fleet: not a URL: "${url.slice(0, 80)}" (want postgres://…)`);
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    throw new FleetDbError(`--fleet: want a postgres:// URL, got ${u.protocol}//…`);
  }
  if (!u.hostname) throw new FleetDbError("--fleet: the URL names no host");
  return `${u.hostname}:${u.port || "5432"}${u.pathname || ""}`;
}

/** One line for any error postgres.js (or the network) raised. */
export function describeDbError(e: unknown, where: string): FleetDbError {
  if (e instanceof FleetDbError) return e;
  const err = e as { code?: string; message?: string; severity?: string };
  const code = err?.code;
  let what: string;
  switch (code) {
    case "ECONNREFUSED":
      what = "connection refused (is the database running?)";
      break;
    case "CONNECT_TIMEOUT":
      what = "connection timed out";
      break;
    case "CONNECTION_CLOSED":
    case "CONNECTION_ENDED":
    case "CONNECTION_DESTROYED":
    case "ECONNRESET":
      what = "connection lost";
      break;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      what = "host name not found";
      break;
    default:
      what = String(err?.message ?? e).split("\n")[0].slice(0, 200);
  }
  return new FleetDbError(`fleet database ${where}: ${what}`, code);
}

/** An error the caller's own code threw inside a query or transaction (passed through as is). */
function ownError(e: unknown): boolean {
  return e instanceof Error && !(e instanceof FleetDbError) && e.name === "Error" &&
    (e as { code?: unknown }).code === undefined;
}

/** Race `p` against a deadline of `ms`; a late answer is a {@link FleetDbError}. */
export async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new FleetDbError(`fleet database: ${what} timed out after ${ms} ms`, "TIMEOUT")),
      ms,
    );
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Options of {@link connectFleetDb}. */
export interface FleetDbOptions {
  /** Deadline of each query (ms, default {@link QUERY_DEADLINE_MS}). */
  deadlineMs?: number;
  /** Pool size (default 4). */
  max?: number;
}

/** A connected fleet database. */
export interface FleetDb {
  readonly sql: Sql;
  /** `host:port/db` of the URL (no credentials), for messages. */
  readonly where: string;
  /**
   * Run `fn` (one query or a `sql.begin` transaction) with a deadline; any failure becomes a
   * one-line {@link FleetDbError} naming `what`.
   */
  q<T>(what: string, fn: (sql: Sql) => Promise<T>, ms?: number): Promise<T>;
  /** A transaction with a deadline (retried once on a serialization failure, 40001). */
  tx<T>(what: string, fn: (tx: Tx) => Promise<T>, ms?: number): Promise<T>;
  /**
   * LISTEN on `channel` (a dedicated connection); `fn` gets each payload. Resolves once
   * listening; rejects (one line) when the database cannot be reached.
   */
  listen(channel: string, fn: (payload: string) => void): Promise<void>;
  /** True while the LISTEN connection is up with every channel listened. */
  readonly listening: boolean;
  /** Re-issue LISTEN for every channel after a lost connection; true when now listening. */
  relisten(): Promise<boolean>;
  /** Close every connection (waits at most 2 s). */
  close(): Promise<void>;
}

/** True for an error raised inside the postgres.js driver's own code (its stack names it). */
export function isDriverError(e: unknown): boolean {
  return e instanceof Error && /[\\/]postgres@3\.\d+\.\d+[\\/]/.test(e.stack ?? "");
}

let driverGuard = false;

/**
 * After a lost connection postgres.js can throw from a socket callback (`socket.write` on a
 * closed socket: no caller to catch it), which would end the host and every agent in it. The
 * guard turns exactly those — errors whose stack is the driver's — into one warning line: the
 * query they belonged to already failed with its deadline, and the pool reconnects. Any other
 * uncaught error still ends the process.
 */
function guardDriverErrors(): void {
  if (driverGuard) return;
  driverGuard = true;
  const warn = (e: unknown) =>
    console.error(
      `warden: fleet database driver error after a lost connection (the pool reconnects): ${
        String((e as Error).message).split("\n")[0].slice(0, 200)
      }`,
    );
  globalThis.addEventListener("error", (ev) => {
    if (!isDriverError(ev.error)) return;
    ev.preventDefault();
    warn(ev.error);
  });
  globalThis.addEventListener("unhandledrejection", (ev) => {
    if (!isDriverError(ev.reason)) return;
    ev.preventDefault();
    warn(ev.reason);
  });
}

/** Connect to the fleet database at `url` (lazily: the first query opens the connection). */
export function connectFleetDb(url: string, opts: FleetDbOptions = {}): FleetDb {
  const where = checkFleetUrl(url);
  guardDriverErrors();
  const deadline = opts.deadlineMs ?? QUERY_DEADLINE_MS;
  const base = {
    connect_timeout: Math.max(1, Math.ceil(deadline / 1000)),
    onnotice: () => {},
    fetch_types: false,
    connection: { application_name: "warden" },
  };
  const sql = postgres(url, { ...base, max: opts.max ?? 4, idle_timeout: 30 });
  const handlers = new Map<string, (payload: string) => void>();
  let listenSql: Sql | undefined;
  let up = false;
  const listenClient = () =>
    listenSql ??= postgres(url, {
      ...base,
      max: 1,
      idle_timeout: 0,
      max_lifetime: 0,
      onnotify: (channel: string, payload: string) => handlers.get(channel)?.(payload),
      onclose: () => {
        up = false;
      },
    } as postgres.Options<Record<string, never>>);
  const listenOne = (c: Sql, channel: string) =>
    withDeadline(
      c.unsafe(`LISTEN "${channel.replaceAll('"', '""')}"`).then(() => {}),
      deadline,
      `LISTEN ${channel}`,
    );
  const db: FleetDb = {
    sql,
    where,
    async q(what, fn, ms = deadline) {
      try {
        return await withDeadline(fn(sql), ms, what);
      } catch (e) {
        throw ownError(e) ? e : describeDbError(e, `(${what})`);
      }
    },
    async tx(what, fn, ms = deadline) {
      for (let attempt = 0;; attempt++) {
        try {
          return await withDeadline(
            sql.begin((t) => fn(t)) as Promise<Awaited<ReturnType<typeof fn>>>,
            ms,
            what,
          );
        } catch (e) {
          if ((e as { code?: string }).code === "40001" && attempt < 2) continue;
          throw ownError(e) ? e : describeDbError(e, `(${what})`);
        }
      }
    },
    async listen(channel, fn) {
      handlers.set(channel, fn);
      try {
        await listenOne(listenClient(), channel);
        up = true;
      } catch (e) {
        up = false;
        throw describeDbError(e, `(LISTEN ${channel})`);
      }
    },
    get listening() {
      return up;
    },
    async relisten() {
      if (up || handlers.size === 0) return up;
      try {
        const c = listenClient();
        for (const ch of handlers.keys()) await listenOne(c, ch);
        up = true;
      } catch {
        up = false;
      }
      return up;
    },
    async close() {
      const ends = [sql.end({ timeout: 1 })];
      if (listenSql) ends.push(listenSql.end({ timeout: 1 }));
      await withDeadline(Promise.allSettled(ends), 2_000, "close").catch(() => {});
    },
  };
  return db;
}
