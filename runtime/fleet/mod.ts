/**
 * Fleet mode: many hosts on one PostgreSQL (FLEET.md). {@link openFleet} connects, migrates and
 * registers the host's lease before the host is built (so a saga journal can use the
 * connection); {@link Fleet.start} then starts every part of {@link FLEET_PARTS} against the
 * host. A part is a small object with `start`/`close`; to add one, write a
 * {@link FleetPartFactory} and append it to {@link FLEET_PARTS}.
 *
 * The database never sits on the decision path: parts keep local state and catch up from the
 * database by position on every notify, poll tick and reconnect ({@link FleetContext.watch}).
 */
import { join } from "node:path";
import type { AgentHost } from "../host.ts";
import type { ApprovalQueue } from "../approvals/queue.ts";
import { type FleetConfig } from "./config.ts";
import { connectFleetDb, type FleetDb, FleetDbError, type Tx } from "./db.ts";
import { Isolation } from "./isolation.ts";
import { Lease } from "./lease.ts";
import { migrate } from "./migrate.ts";
import { revocationsPart } from "./revocations.ts";
import { approvalsPart } from "./approvals.ts";
import { bundlesPart } from "./bundles.ts";
import { trustPart } from "./trust.ts";
import { sagaPart } from "./sagas.ts";
import { auditShipPart } from "./audit_ship.ts";
import { directoryPart } from "./directory.ts";
import { memoryPart } from "./memory.ts";

export { connectFleetDb, FleetDbError, fleetUrl } from "./db.ts";
export type { FleetDb, Sql, Tx, Wakeup } from "./db.ts";
export { type FleetConfig, fleetConfig, FleetConfigFile } from "./config.ts";
export { grantHostRole, migrate } from "./migrate.ts";
export { issueRevocation, type RevocationKind } from "./revocations.ts";
export { createHostRole, disableHostRole, fleetStatus } from "./roles.ts";

/** What every part gets. */
export interface FleetContext {
  readonly db: FleetDb;
  readonly hostId: string;
  /** The host's own did (its audit signer). */
  readonly did: string;
  readonly config: FleetConfig;
  readonly lease: Lease;
  readonly isolation: Isolation;
  /** The host (set before any part is made). */
  readonly host: AgentHost;
  /**
   * Run `fn` on every NOTIFY on `channel` (notify mode), after every (re)LISTEN, and every
   * `intervalMs`; runs never overlap (a wake-up during a run runs it once more after). A
   * failing run is retried at the next wake-up. Returns the stop function.
   */
  watch(channel: string, intervalMs: number, fn: () => Promise<void>): () => void;
  /** `pg_notify(channel, payload)` inside `tx` (nothing in poll mode). */
  notify(tx: Tx, channel: string, payload?: string): Promise<void>;
  /** Set `hosts.status[key]` (merged into the row at the next lease renewal). */
  setStatus(key: string, value: unknown): void;
  /** One line on stderr, prefixed `warden fleet: `. */
  log(line: string): void;
}

/** One piece of fleet behaviour. */
export interface FleetPart {
  readonly name: string;
  /** Called once, in {@link FLEET_PARTS} order; a rejection stops the host's start. */
  start?(): Promise<void> | void;
  close?(): Promise<void> | void;
}

/** What `cli/host.ts` (or an in-process host) hands to {@link Fleet.start}. */
export interface FleetStartOptions {
  /** The host's approval queue (fleet approvals plug in behind it). */
  approvals?: ApprovalQueue;
}

/** Makes a part for one host (undefined: this part does not apply to this config). */
export type FleetPartFactory = (
  ctx: FleetContext,
  opts: FleetStartOptions,
) => FleetPart | undefined;

/** Every part, in start order. Parts close in reverse order. */
export const FLEET_PARTS: FleetPartFactory[] = [
  revocationsPart,
  bundlesPart,
  approvalsPart,
  trustPart,
  sagaPart,
  auditShipPart,
  directoryPart,
  memoryPart,
];

/** A host's fleet membership. */
export interface Fleet {
  readonly hostId: string;
  readonly db: FleetDb;
  readonly config: FleetConfig;
  readonly lease: Lease;
  readonly isolation: Isolation;
  /** Start every part against `host`. */
  start(host: AgentHost, opts?: FleetStartOptions): Promise<void>;
  /** A started part by name. */
  part<T extends FleetPart>(name: string): T | undefined;
  /** Close every part, release the lease, close the connections. */
  close(): Promise<void>;
}

/** The host's fleet id: the config's, else one kept in `<dir>/host-id`. */
function hostIdOf(config: FleetConfig): string {
  if (config.hostId) return config.hostId;
  Deno.mkdirSync(config.dir, { recursive: true, mode: 0o700 });
  const path = join(config.dir, "host-id");
  try {
    const id = Deno.readTextFileSync(path).trim();
    if (/^[A-Za-z0-9._-]{1,64}$/.test(id)) return id;
  } catch { /* first start */ }
  const id = `h-${crypto.randomUUID().slice(0, 13)}`;
  Deno.writeTextFileSync(path, id + "\n", { mode: 0o600 });
  return id;
}

function log(line: string): void {
  console.error(`warden fleet: ${line}`);
}

/**
 * Connect, migrate and register the lease. The database being down is not an error here (the
 * host boots on its persisted state and catches up later, one line says so); a bad URL, a
 * host id held by another live host or a schema newer than this host is a {@link FleetDbError}.
 */
export async function openFleet(
  config: FleetConfig,
  who: { did: string; version?: string; toolsDigest?: string },
): Promise<Fleet> {
  const db = connectFleetDb(config.url, { deadlineMs: config.queryDeadlineMs, onReset: log });
  const hostId = hostIdOf(config);
  const lease = new Lease(
    db,
    {
      hostId,
      did: who.did,
      apiUrl: config.apiUrl,
      peerUrl: config.peerUrl,
      version: who.version,
      toolsDigest: who.toolsDigest,
    },
    config.leaseMs,
    config.renewMs,
  );
  const isolation = new Isolation(config.staleMs);
  let schema = false;
  const ensureSchema = async (): Promise<boolean> => {
    if (schema) return true;
    try {
      await migrate(db);
      schema = true;
    } catch (e) {
      if ((e as Error).message.includes("knows up to")) throw e;
    }
    return schema;
  };
  try {
    if (await ensureSchema()) await lease.renew();
    else log(`database unreachable at ${db.where}; starting on persisted fleet state`);
  } catch (e) {
    await db.close();
    throw e;
  }
  const parts: FleetPart[] = [];
  const stops: (() => void)[] = [];
  let closed = false;
  const kicks = new Set<() => void>();
  // Reconnect: re-LISTEN once the database is back, then wake every watcher to catch up.
  let reconnecting = false;
  const reconnect = setInterval(async () => {
    if (closed || reconnecting) return;
    reconnecting = true;
    try {
      const had = schema;
      if (!(await ensureSchema().catch(() => false))) return;
      if (!had) await lease.renew().catch(() => false);
      if (config.wakeup === "notify" && !db.listening && (await db.relisten())) {
        for (const k of kicks) k();
      }
    } finally {
      reconnecting = false;
    }
  }, 500);
  lease.start();

  let host: AgentHost | undefined;
  const ctx: FleetContext = {
    db,
    hostId,
    did: who.did,
    config,
    lease,
    isolation,
    get host() {
      if (!host) throw new Error("fleet: the host is not attached yet");
      return host;
    },
    watch(channel, intervalMs, fn) {
      let running = false;
      let again = false;
      const run = async () => {
        if (closed) return;
        if (running) {
          again = true;
          return;
        }
        running = true;
        try {
          do {
            again = false;
            await fn().catch(() => {});
          } while (again && !closed);
        } finally {
          running = false;
        }
      };
      const timer = setInterval(run, intervalMs);
      kicks.add(run);
      if (config.wakeup === "notify") db.listen(channel, () => run()).then(run, () => {});
      queueMicrotask(run);
      const stop = () => {
        clearInterval(timer);
        kicks.delete(run);
      };
      stops.push(stop);
      return stop;
    },
    async notify(tx, channel, payload = "") {
      if (config.wakeup === "notify") await tx`SELECT pg_notify(${channel}, ${payload})`;
    },
    setStatus: (k, v) => lease.setStatus(k, v),
    log,
  };

  return {
    hostId,
    db,
    config,
    lease,
    isolation,
    async start(h, opts = {}) {
      host = h;
      for (const make of FLEET_PARTS) {
        const p = make(ctx, opts);
        if (!p) continue;
        parts.push(p);
        await p.start?.();
      }
      await lease.renew().catch(() => false);
    },
    part<T extends FleetPart>(name: string) {
      return parts.find((p) => p.name === name) as T | undefined;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(reconnect);
      for (const s of stops) s();
      for (const p of [...parts].reverse()) await Promise.resolve(p.close?.()).catch(() => {});
      isolation.close();
      await lease.close();
      await db.close();
    },
  };
}

/** {@link openFleet} then {@link Fleet.start}, for a host made in-process. */
export async function startFleet(
  host: AgentHost,
  config: FleetConfig,
  who: { did: string; approvals?: ApprovalQueue },
): Promise<Fleet> {
  const fleet = await openFleet(config, who);
  try {
    await fleet.start(host, { approvals: who.approvals });
  } catch (e) {
    await fleet.close();
    throw e;
  }
  return fleet;
}

/** Is `e` a fleet database failure (one line, no stack)? */
export function isFleetError(e: unknown): e is FleetDbError {
  return e instanceof FleetDbError;
}
