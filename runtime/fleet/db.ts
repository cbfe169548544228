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

/** The `application_name` of the LISTEN session (the pool's is `warden`). */
export const LISTEN_APP = "warden-listen";

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
  /** Called (one line) when the pool or the LISTEN session is dropped and made anew. */
  onReset?: (line: string) => void;
}

/** A connected fleet database. */
export interface FleetDb {
  /** The current pool (a new one after a reset: read it per use, do not keep it). */
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
  /**
   * Re-issue LISTEN for every channel after a lost connection, on a new LISTEN session; true
   * when now listening. Failed attempts back off (to one a second).
   */
  relisten(): Promise<boolean>;
  /** How many times the pool was dropped and made anew ({@link deadConnection}). */
  readonly resets: number;
  /** Close every connection (waits at most 2 s). */
  close(): Promise<void>;
}

/** Codes of a connection that is gone (driver, socket, and PostgreSQL's class 08 / 57P0x). */
const DEAD_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "TIMEOUT", // our deadline: a query stuck on a dead socket looks like this
  "57P01", // admin_shutdown (pg_ctl stop -m fast, pg_terminate_backend)
  "57P02", // crash_shutdown (a backend crashed, -m immediate)
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
]);

/**
 * True when `e` says the connection it ran on is dead (or may be: a query past its deadline):
 * the pool is then dropped and made anew. Errors of the caller's own code, constraint
 * violations and serialization failures are not.
 */
export function deadConnection(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | null;
  if (typeof err?.code === "string" && DEAD_CODES.has(err.code)) return true;
  if (isDriverError(e) && e instanceof TypeError) return true; // a write on a nulled socket
  return typeof err?.message === "string" &&
    /socket has been ended|connection terminated|write after end|terminating connection/i
      .test(err.message);
}

/** The first wait between two resets (ms); it doubles while resets do not help. */
export const RESET_MIN_MS = 250;
/** The longest wait between two resets (ms). */
export const RESET_MAX_MS = 2_000;

/** Spaces out resets: the first at once, then ≥ `min` apart, doubling to `max` until a success. */
export class ResetBackoff {
  #next = 0;
  #gap: number;
  constructor(readonly min = RESET_MIN_MS, readonly max = RESET_MAX_MS) {
    this.#gap = min;
  }
  /** May a reset happen at `now`? (If so, it is counted.) */
  take(now: number): boolean {
    if (now < this.#next) return false;
    this.#next = now + this.#gap;
    this.#gap = Math.min(this.max, this.#gap * 2);
    return true;
  }
  /** Something worked: the gap after the next reset is `min` again. */
  ok(): void {
    this.#gap = this.min;
  }
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

/**
 * Connect to the fleet database at `url` (lazily: the first query opens the connection).
 *
 * Dead connections: after a crash (`pg_ctl stop -m immediate`) postgres.js can keep sockets
 * that never answer, so queries on them wait out their deadlines for seconds after the database
 * is back. A query that fails with a dead-connection error ({@link deadConnection}) on the
 * current pool drops that pool (its in-flight queries may finish within their deadlines) and
 * makes a new one: one reset per pool (the failures of one dead pool reset it once), spaced by
 * {@link ResetBackoff}. The LISTEN session is checked at each reset and made anew by
 * {@link FleetDb.relisten} (the fleet's reconnect loop calls it every 500 ms while not listening).
 */
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
  const newPool = () => postgres(url, { ...base, max: opts.max ?? 4, idle_timeout: 30 });
  let sql = newPool();
  let generation = 0;
  let resets = 0;
  let quiet = false;
  let closed = false;
  const poolBackoff = new ResetBackoff();
  const listenBackoff = new ResetBackoff(RESET_MIN_MS, 1_000); // LISTEN back ≤ 5 s (A5)
  const say = (line: string) => {
    try {
      opts.onReset?.(line);
    } catch { /* a logger must not break the database path */ }
  };
  const handlers = new Map<string, (payload: string) => void>();
  let listenSql: Sql | undefined;
  let up = false;
  /** End `c`: its queries get `graceMs` to finish (a live query is not cut short). */
  const drop = (c: Sql, graceMs = 2_000) => {
    c.end({ timeout: Math.ceil(graceMs / 1000) }).catch(() => {});
  };
  /** The longest deadline asked of the current pool (its drop waits that long). */
  let longest = deadline;
  const listenClient = () => {
    if (listenSql) return listenSql;
    const c: Sql = postgres(url, {
      ...base,
      connection: { application_name: LISTEN_APP },
      max: 1,
      idle_timeout: 0,
      max_lifetime: 0,
      onnotify: (channel: string, payload: string) => {
        if (listenSql === c) handlers.get(channel)?.(payload);
      },
      onclose: () => {
        if (listenSql === c) up = false;
      },
    } as postgres.Options<Record<string, never>>);
    return listenSql = c;
  };
  const listenOne = (c: Sql, channel: string) =>
    withDeadline(
      c.unsafe(`LISTEN "${channel.replaceAll('"', '""')}"`).then(() => {}),
      deadline,
      `LISTEN ${channel}`,
    );
  /** The LISTEN session is suspect (the pool died): ping it; a failure drops it. */
  const checkListen = () => {
    const c = listenSql;
    if (!c || !up) return;
    const ch = handlers.keys().next().value;
    if (ch === undefined) return;
    // LISTEN again on a channel already listened: a no-op that proves the session answers.
    listenOne(c, ch).catch(
      () => {
        if (listenSql !== c) return;
        up = false;
        listenSql = undefined;
        drop(c);
      },
    );
  };
  /** A query on pool `gen` failed with `e`: reset the pool if it looks dead (once per pool). */
  const failed = (e: unknown, gen: number) => {
    if (closed || gen !== generation || !deadConnection(e)) return;
    if (!poolBackoff.take(performance.now())) return;
    const old = sql;
    sql = newPool();
    generation++;
    resets++;
    // A reset after a deadline may hit a pool that is only slow: its other queries may finish.
    drop(old, longest);
    longest = deadline;
    // One line per outage: the first reset after a success.
    if (!quiet) {
      say(`fleet database connections reset after: ${describeDbError(e, "query").message}`);
    }
    quiet = true;
    checkListen();
  };
  const worked = (gen: number) => {
    if (gen !== generation) return;
    poolBackoff.ok();
    quiet = false;
  };
  const db: FleetDb = {
    get sql() {
      return sql;
    },
    where,
    async q(what, fn, ms = deadline) {
      const gen = generation;
      longest = Math.max(longest, ms);
      try {
        const r = await withDeadline(fn(sql), ms, what);
        worked(gen);
        return r;
      } catch (e) {
        if (ownError(e)) throw e;
        failed(e, gen);
        throw describeDbError(e, `(${what})`);
      }
    },
    async tx(what, fn, ms = deadline) {
      for (let attempt = 0;; attempt++) {
        const gen = generation;
        longest = Math.max(longest, ms);
        try {
          const r = await withDeadline(
            sql.begin((t) => fn(t)) as Promise<Awaited<ReturnType<typeof fn>>>,
            ms,
            what,
          );
          worked(gen);
          return r;
        } catch (e) {
          if ((e as { code?: string }).code === "40001" && attempt < 2) continue;
          if (ownError(e)) throw e;
          failed(e, gen);
          throw describeDbError(e, `(${what})`);
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
      if (closed || up || handlers.size === 0) return up;
      if (!listenBackoff.take(performance.now())) return false;
      // A new session: the old one may hold a socket that never answers.
      const old = listenSql;
      listenSql = undefined;
      if (old) drop(old);
      const c = listenClient();
      try {
        for (const ch of handlers.keys()) await listenOne(c, ch);
        if (listenSql !== c) return false;
        up = true;
        listenBackoff.ok();
        if (old) say("fleet database LISTEN session made anew (catching up from the tables)");
      } catch {
        up = false;
      }
      return up;
    },
    get resets() {
      return resets;
    },
    async close() {
      closed = true;
      const ends = [sql.end({ timeout: 1 })];
      if (listenSql) ends.push(listenSql.end({ timeout: 1 }));
      await withDeadline(Promise.allSettled(ends), 2_000, "close").catch(() => {});
    },
  };
  return db;
}
