/**
 * Fleet sagas (FLEET.md §6.5): the journal in `saga_records` behind the existing `SagaJournal`
 * interface, one fenced writer per saga (`sagas.owner_host` + `epoch`, as Temporal fences
 * shards with `range_id`). An append locks the saga row, compares owner and epoch (else
 * {@link OwnershipLost}: stop, do not act) and inserts record `next_n`. A host that has not
 * renewed its lease for `fenceMs` fences itself (appends nothing). The {@link SagaSweeper}
 * claims open sagas of hosts whose lease expired (same `tools_digest`), bumps their epoch and
 * resumes them through the orchestrator (`adopt`): the in-flight step is re-run with its
 * idempotency key, so the effect lands once wherever the tool honours the key.
 * @module
 */
import {
  applyRecord,
  SagaRecord,
  type SagaState,
  type SagaStatus,
} from "../../governance/saga/mod.ts";
import type { SagaJournal } from "../saga/journal.ts";
import type { FleetDb, Tx } from "./db.ts";
import type { Lease } from "./lease.ts";
import type { FleetPartFactory } from "./mod.ts";

/** This host no longer owns the saga (another host claimed it, or this host fenced itself). */
export class OwnershipLost extends Error {
  constructor(readonly sagaId: string, why: string) {
    super(`saga ${sagaId}: ownership lost (${why}); this host runs no further step`);
    this.name = "OwnershipLost";
  }
}

/** Whether this host may still act: its lease was renewed recently enough. */
export interface SagaFence {
  readonly hostId: string;
  /** False once the host must fence itself (no successful renewal for the fence time). */
  live(): boolean;
}

/** A fence from a lease: live while the last renewal was sent less than `fenceMs` ago. */
export function leaseFence(
  lease: { info: { hostId: string }; lastRenewedAt(): number | null },
  fenceMs: number,
  now: () => number = () => performance.now(),
): SagaFence {
  return {
    hostId: lease.info.hostId,
    live: () => {
      const last = lease.lastRenewedAt();
      return last !== null && now() - last < fenceMs;
    },
  };
}

const OPEN: readonly SagaStatus[] = ["running", "compensating"];

/** A failure to reach the database (worth waiting out), not an answer from it. */
export function transient(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? "";
  return /^(ECONN|CONNECT|CONNECTION_|TIMEOUT$|EPIPE$|ENOTFOUND$|EAI_AGAIN$|57P0|08)/.test(code);
}

/** The PostgreSQL saga journal of one host. */
export class PgSagaJournal implements SagaJournal {
  #epochs = new Map<string, number>();
  #states = new Map<string, SagaState>();
  /** Sagas this host stopped because it fenced itself (re-claimed when live again). */
  readonly fenced = new Set<string>();

  constructor(
    readonly db: FleetDb,
    readonly fence: SagaFence,
    readonly toolsDigest: string,
    /** How long an append keeps retrying a database failure (while the fence holds). */
    readonly retryMs = 200,
  ) {}

  /** The saga's state after `r`, computed on a copy (kept by {@link #keep} once durable). */
  #after(r: SagaRecord): SagaState | null {
    const tmp = new Map<string, SagaState>();
    const cur = this.#states.get(r.saga);
    if (cur && r.type !== "saga.started") tmp.set(r.saga, structuredClone(cur));
    return applyRecord(tmp, structuredClone(r));
  }

  #keep(s: SagaState | null): void {
    if (s) this.#states.set(s.id, s);
  }

  /** Durable once it resolves; throws {@link OwnershipLost} when this host may not write. */
  async append(record: SagaRecord): Promise<void> {
    const id = record.saga;
    for (let attempt = 0;; attempt++) {
      if (!this.fence.live()) {
        this.fenced.add(id);
        throw new OwnershipLost(id, "self-fenced: the host lease was not renewed in time");
      }
      // The database layer turns every error into one line: keep our own refusals as thrown.
      let refusal: Error | undefined;
      const keep = (p: Promise<void>) =>
        p.catch((e) => {
          if (e instanceof OwnershipLost || (e as Error).name === "SagaExists") refusal = e;
          throw e;
        });
      try {
        if (record.type === "saga.started") {
          await this.db.tx("saga start", (tx) => keep(this.#start(tx, record, attempt > 0)));
        } else {
          await this.db.tx("saga append", (tx) => keep(this.#append(tx, record, attempt > 0)));
        }
        return;
      } catch (e) {
        if (refusal) throw refusal;
        if (!transient(e)) throw e;
        // The database is away: pause this transition (nothing acted yet) and try again.
        await new Promise((r) => setTimeout(r, this.retryMs));
      }
    }
  }

  async #start(tx: Tx, r: SagaRecord, retry: boolean): Promise<void> {
    const me = this.fence.hostId;
    const ins = await tx`INSERT INTO sagas (saga_id, owner_host, epoch, next_n, status,
      tools_digest) VALUES (${r.saga}, ${me}, 1, 1, 'running', ${this.toolsDigest})
      ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id`;
    if (ins.length === 0) {
      const [same] = retry
        ? await tx`SELECT 1 FROM saga_records WHERE saga_id = ${r.saga} AND n = 0
            AND record = ${tx.json(r as never)}`
        : [];
      if (same) return this.#owned(r);
      const err = new Error(`saga ${r.saga} already exists`);
      err.name = "SagaExists";
      throw err;
    }
    await tx`INSERT INTO saga_records (saga_id, n, epoch, record)
      VALUES (${r.saga}, 0, 1, ${tx.json(r as never)})`;
    this.#owned(r);
  }

  #owned(r: SagaRecord): void {
    this.#epochs.set(r.saga, 1);
    this.#keep(this.#after(r));
  }

  async #append(tx: Tx, r: SagaRecord, retry: boolean): Promise<void> {
    const id = r.saga;
    const mine = this.#epochs.get(id);
    if (mine === undefined) throw new OwnershipLost(id, "this host never owned it");
    const [row] = await tx`SELECT owner_host, epoch, next_n FROM sagas WHERE saga_id = ${id}
      FOR UPDATE`;
    if (!row || row.owner_host !== this.fence.hostId || Number(row.epoch) !== mine) {
      this.#epochs.delete(id);
      throw new OwnershipLost(
        id,
        row ? `owner ${row.owner_host} epoch ${row.epoch}, this host had epoch ${mine}` : "gone",
      );
    }
    const n = Number(row.next_n);
    if (retry) {
      // The last try may have committed before its answer was lost: do not append twice.
      const [same] = await tx`SELECT 1 FROM saga_records WHERE saga_id = ${id}
        AND n = ${n - 1} AND epoch = ${mine} AND record = ${tx.json(r as never)}`;
      if (same) return void this.#keep(this.#after(r));
    }
    const next = this.#after(r);
    await tx`INSERT INTO saga_records (saga_id, n, epoch, record)
      VALUES (${id}, ${n}, ${mine}, ${tx.json(r as never)})`;
    await tx`UPDATE sagas SET next_n = ${n + 1}, status = ${next?.status ?? "running"},
      updated_at = now() WHERE saga_id = ${id}`;
    this.#keep(next);
  }

  /** Every record of the sagas this host owns, in order (remembers their epochs). */
  async load(): Promise<SagaRecord[]> {
    const rows = await this.db.q(
      "saga load",
      (sql) =>
        sql`SELECT s.saga_id, s.epoch, r.record FROM sagas s
        JOIN saga_records r ON r.saga_id = s.saga_id
        WHERE s.owner_host = ${this.fence.hostId} ORDER BY s.saga_id, r.n`,
    );
    return this.#take(rows as unknown as { saga_id: string; epoch: string; record: unknown }[]);
  }

  #take(rows: { saga_id: string; epoch: string | number; record: unknown }[]): SagaRecord[] {
    const out: SagaRecord[] = [];
    for (const row of rows) {
      const rec = SagaRecord.parse(
        typeof row.record === "string" ? JSON.parse(row.record) : row.record,
      );
      this.#epochs.set(row.saga_id, Number(row.epoch));
      this.#keep(this.#after(rec));
      out.push(rec);
    }
    return out;
  }

  /**
   * Claim up to `limit` open sagas of hosts whose lease expired (and this host's own sagas it
   * fenced itself from, once live again): epoch + 1, owner = this host. Their records.
   */
  async claim(limit = 16, skipLocked = true): Promise<SagaRecord[]> {
    if (!this.fence.live()) return [];
    const me = this.fence.hostId;
    const own = [...this.fenced];
    const lock = skipLocked ? "FOR UPDATE OF s2 SKIP LOCKED" : "FOR UPDATE OF s2";
    const rows = await this.db.tx("saga claim", async (tx) => {
      const claimed = await tx`UPDATE sagas s SET owner_host = ${me}, epoch = s.epoch + 1,
          updated_at = now()
        FROM (SELECT s2.saga_id, s2.epoch FROM sagas s2
          LEFT JOIN hosts h ON h.id = s2.owner_host
          WHERE s2.status IN ${tx(OPEN as SagaStatus[])} AND s2.tools_digest = ${this.toolsDigest}
            AND ((s2.owner_host <> ${me} AND (h.id IS NULL OR h.lease_expires < now()))
              OR (s2.owner_host = ${me} AND s2.saga_id IN ${tx(own.length ? own : [""])}))
          ORDER BY s2.updated_at LIMIT ${limit} ${tx.unsafe(lock)}) c
        WHERE s.saga_id = c.saga_id AND s.epoch = c.epoch
        RETURNING s.saga_id`;
      if (claimed.length === 0) return [];
      const ids = claimed.map((r) => r.saga_id as string);
      return await tx`SELECT s.saga_id, s.epoch, r.record FROM sagas s
        JOIN saga_records r ON r.saga_id = s.saga_id
        WHERE s.saga_id IN ${tx(ids)} ORDER BY s.saga_id, r.n`;
    });
    for (const id of own) this.fenced.delete(id);
    return this.#take(rows as unknown as { saga_id: string; epoch: string; record: unknown }[]);
  }
}

/** Options of {@link SagaSweeper}. */
export interface SagaSweeperOptions {
  journal: PgSagaJournal;
  /** Resume claimed sagas (the host orchestrator's `adopt`). */
  adopt: (records: SagaRecord[]) => Promise<unknown>;
  /** Sweep period (jittered ±50 %; default 1 s). */
  everyMs?: number;
  /** After a database failure, wait this long before claiming again (one lease TTL). */
  holdMs?: number;
  /** Use SKIP LOCKED (off in portable/poll mode). */
  skipLocked?: boolean;
  /** Called with each failure (for status); never throws. */
  onError?: (e: Error) => void;
}

/** Claims dead hosts' sagas every second (jittered) and resumes them here. */
export class SagaSweeper {
  #o: SagaSweeperOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #failed = false;
  #holdUntil = 0;
  #closed = false;
  #running: Promise<void> | null = null;
  /** Sagas this host took over. */
  readonly adopted: string[] = [];

  constructor(opts: SagaSweeperOptions) {
    this.#o = opts;
  }

  start(): void {
    const next = () => {
      if (this.#closed) return;
      const every = this.#o.everyMs ?? 1000;
      this.#timer = setTimeout(() => {
        this.#running = this.sweep().finally(next);
      }, every * (0.5 + Math.random()));
      Deno.unrefTimer(this.#timer);
    };
    next();
  }

  /** One sweep: claim and resume (no throw). */
  async sweep(): Promise<void> {
    if (performance.now() < this.#holdUntil) return;
    let records: SagaRecord[];
    try {
      if (this.#failed) {
        // Just reconnected: every other host may look dead until it renews; wait one TTL.
        await this.#o.journal.db.q("saga sweep", (sql) => sql`SELECT 1`);
        this.#failed = false;
        this.#holdUntil = performance.now() + (this.#o.holdMs ?? 10_000);
        return;
      }
      records = await this.#o.journal.claim(16, this.#o.skipLocked ?? true);
    } catch (e) {
      this.#failed = true;
      this.#o.onError?.(e as Error);
      return;
    }
    if (records.length === 0) return;
    for (const r of records) if (r.type === "saga.started") this.adopted.push(r.saga);
    // Resumed sagas run on; their end is the orchestrator's (and the audit log's) business.
    this.#o.adopt(records).catch((e) => this.#o.onError?.(e as Error));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#running?.catch(() => {});
  }
}

/** The fence time of a lease: 8 s of a 10 s TTL (FLEET.md §6.5). */
export function fenceMsOf(ttlMs: number): number {
  return Math.floor(ttlMs * 0.8);
}

/** A digest of the host tools' names: hosts take over only sagas whose tools they have. */
export async function toolsDigest(names: readonly string[]): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify([...names].sort()));
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(h, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The saga journal of a fleet host (give it to the host as `sagaJournal`), fenced by the
 * fleet's lease.
 */
export function fleetSagaJournal(
  fleet: { db: FleetDb; lease: Lease },
  digest: string,
): PgSagaJournal {
  return new PgSagaJournal(fleet.db, leaseFence(fleet.lease, fenceMsOf(fleet.lease.ttlMs)), digest);
}

/** The saga part: sweeps dead hosts' sagas into this host when its journal is the fleet's. */
export const sagaPart: FleetPartFactory = (ctx) => {
  const journal = ctx.host.sagas.journal;
  if (!(journal instanceof PgSagaJournal)) return undefined;
  const sweeper = new SagaSweeper({
    journal,
    adopt: async (records) => {
      const ids = [...new Set(records.map((r) => r.saga))];
      ctx.log(`took over ${ids.length} saga(s) of dead hosts: ${ids.join(", ")}`);
      await ctx.host.sagas.adopt(records);
    },
    holdMs: ctx.lease.ttlMs,
    skipLocked: ctx.config.wakeup === "notify",
    onError: () => {/* retried at the next sweep */},
  });
  return {
    name: "sagas",
    start: () => sweeper.start(),
    close: () => sweeper.close(),
  };
};
