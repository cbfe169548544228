/**
 * Fleet trust (FLEET.md §6.3): the `trust_scores` row per did is the truth; each host's
 * `TrustService` is its cache. Every event a host records is shipped with a uuid and applied
 * exactly once, in one transaction: lock the row (`FOR UPDATE`) → the pure `applyValidEvent` →
 * update → insert the event (a uuid already there means applied: nothing changes). Penalties
 * go at once; allows are coalesced per did per second into one `{allowed, n}` event. A score
 * crossing below 100 appends an `agent_ban` revocation in the same transaction, so the
 * identity is refused on every host. Hosts refresh their cache on NOTIFY (channel
 * `warden_trust`, payload the did) and on a 1 s poll, and follow a change as for a local one
 * (demote, restart, revoke); the cache is the row plus the host's own events not applied yet
 * (so a demotion is never undone by a row that lags the outbox). Database down: events wait in a local fsync'd outbox and are
 * replayed idempotently; the cache and local demotions continue.
 * @module
 */
import { dirname } from "node:path";
import {
  applyValidEvent,
  decayed,
  DEFAULT_TRUST,
  REVOKE_BELOW,
  type TrustConfig,
  TrustEvent,
  type TrustState,
} from "../../governance/trust/mod.ts";
import { z } from "zod";
import { join } from "node:path";
import type { FleetDb, Tx, Wakeup } from "./db.ts";
import type { FleetPart, FleetPartFactory } from "./mod.ts";
import { appendRevocation } from "./revocations.ts";
import type { TrustService } from "../trust/service.ts";

/** The NOTIFY channel of trust changes (payload: the did). */
export const TRUST_CHANNEL = "warden_trust";

/** A trust event as the fleet stores it: a host event, or `n` coalesced allows. */
export const FleetTrustEvent = z.union([
  TrustEvent,
  z.strictObject({
    type: z.literal("allowed"),
    at: z.number().finite().min(0),
    n: z.number().int().min(1).max(1_000_000),
  }),
]);
export type FleetTrustEvent = z.infer<typeof FleetTrustEvent>;

/** One event waiting to be applied (a line of the outbox). */
export const Pending = z.strictObject({
  id: z.uuid(),
  did: z.string().min(1).max(512),
  event: FleetTrustEvent,
});
export type Pending = z.infer<typeof Pending>;

/** Apply one fleet event (pure): `n` coalesced allows are `n` allows at the same time. */
export function applyFleetEvent(
  s: TrustState,
  e: FleetTrustEvent,
  c: TrustConfig = DEFAULT_TRUST,
): TrustState {
  if (e.type === "allowed" && "n" in e) {
    let next = s;
    for (let i = 0; i < e.n; i++) next = applyValidEvent(next, { type: "allowed", at: e.at }, c);
    return next;
  }
  return applyValidEvent(s, e as TrustEvent, c);
}

/** The state a did's events (in applied order) give from the baseline: the pure replay. */
export function replayTrust(
  events: readonly FleetTrustEvent[],
  c: TrustConfig = DEFAULT_TRUST,
): TrustState | undefined {
  if (events.length === 0) return undefined;
  let s: TrustState = { score: c.baseline, at: events[0].at };
  for (const e of events) s = applyFleetEvent(s, e, c);
  return s;
}

/** Coalesces allows per did per window; penalties pass through. Pure (time injected). */
export class AllowCoalescer {
  #open = new Map<string, { at: number; n: number }>();
  constructor(readonly windowMs = 1000) {}

  /** Count an allow; returns the events due now (a window that closed). */
  add(did: string, at: number): Pending[] {
    const due = this.due(at);
    const w = this.#open.get(did);
    if (w) w.n++;
    else this.#open.set(did, { at, n: 1 });
    return due;
  }

  /** The coalesced events of windows older than `windowMs` at `now` (all with `now = ∞`). */
  due(now: number): Pending[] {
    const out: Pending[] = [];
    for (const [did, w] of this.#open) {
      if (now - w.at < this.windowMs) continue;
      this.#open.delete(did);
      out.push({ id: crypto.randomUUID(), did, event: { type: "allowed", at: w.at, n: w.n } });
    }
    return out;
  }
}

/** A row of `trust_scores` as a state (+ its version). */
interface Row {
  score: number;
  at: string | number;
  earned: TrustState["earned"] | null;
  version: string | number;
}

function rowState(r: Row): TrustState {
  const s: TrustState = { score: Number(r.score), at: Number(r.at) };
  if (r.earned) s.earned = r.earned;
  return s;
}

/** What applying one event did. */
export interface Applied {
  /** False when this event id was already applied (nothing changed). */
  applied: boolean;
  state: TrustState;
  version: number;
  before: number;
}

/**
 * Apply one event exactly once (one transaction). `ban` runs inside the same transaction when
 * the score crosses below {@link REVOKE_BELOW} (appends the `agent_ban` revocation).
 */
export async function applyTrustEvent(
  tx: Tx,
  hostId: string,
  p: Pending,
  opts: { config?: TrustConfig; ban?: (tx: Tx, did: string, reason: string) => Promise<unknown> },
): Promise<Applied> {
  const c = opts.config ?? DEFAULT_TRUST;
  await tx`INSERT INTO trust_scores (did, score, at, version)
    VALUES (${p.did}, ${c.baseline}, ${p.event.at}, 0) ON CONFLICT (did) DO NOTHING`;
  const [row] = await tx<Row[]>`SELECT score, at, earned, version FROM trust_scores
    WHERE did = ${p.did} FOR UPDATE`;
  const prior = rowState(row);
  const dup = await tx`SELECT 1 FROM trust_events WHERE id = ${p.id}`;
  if (dup.length > 0) {
    return { applied: false, state: prior, version: Number(row.version), before: prior.score };
  }
  const before = decayed(prior, Math.max(prior.at, p.event.at), c);
  const next = applyFleetEvent(prior, p.event, c);
  const version = Number(row.version) + 1;
  await tx`UPDATE trust_scores SET score = ${next.score}, at = ${next.at},
    earned = ${next.earned ? tx.json(next.earned as never) : null}, version = ${version},
    changed_at = now() WHERE did = ${p.did}`;
  await tx`INSERT INTO trust_events (id, did, host_id, event, at, version)
    VALUES (${p.id}, ${p.did}, ${hostId}, ${tx.json(p.event as never)}, ${p.event.at}, ${version})`;
  if (before >= REVOKE_BELOW && next.score < REVOKE_BELOW && opts.ban) {
    await opts.ban(
      tx,
      p.did,
      `trust revoked: score ${Math.round(next.score)} < ${REVOKE_BELOW}`,
    );
  }
  return { applied: true, state: next, version, before };
}

/** Options of {@link FleetTrust}. */
export interface FleetTrustOptions {
  db: FleetDb;
  hostId: string;
  /** The host's trust cache. */
  trust: TrustService;
  /** The fsync'd outbox file (in memory only without one). */
  outboxPath?: string;
  wakeup?: Wakeup;
  /** Appends the `agent_ban` revocation (L4's stream) inside the apply transaction. */
  ban?: (tx: Tx, did: string, reason: string) => Promise<unknown>;
  /** A did's score changed in the fleet: follow it for a running agent (demote, revoke). */
  changed?: (did: string, before: number, after: number) => void;
  coalesceMs?: number;
  /** Poll the database this often by itself (the fleet part polls through `watch` instead). */
  pollMs?: number;
  now?: () => number;
}

/** Ships a host's trust events to the fleet and keeps its cache fresh. */
export class FleetTrust {
  #o: FleetTrustOptions;
  #coalescer: AllowCoalescer;
  /** Events in the outbox, not yet applied (the file mirrors this list). */
  #unapplied: Pending[] = [];
  #queued: Pending[] = [];
  /** The event whose apply transaction is running (its row may already hold it). */
  #inflight: Pending | null = null;
  /** The event whose last apply failed: it may have committed (retried, applied once). */
  #unsure: Pending | null = null;
  #flushing: Promise<void> | null = null;
  #versions = new Map<string, number>();
  #timers: ReturnType<typeof setInterval>[] = [];
  #since: string | null = null;
  #closed = false;
  /** The last failure to reach the database (null when the last flush worked). */
  lastError: string | null = null;

  constructor(opts: FleetTrustOptions) {
    this.#o = opts;
    this.#coalescer = new AllowCoalescer(opts.coalesceMs ?? 1000);
    this.#unapplied = readOutbox(opts.outboxPath);
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /**
   * Start: hook the cache and replay the outbox. Wake-ups call {@link poll} (the fleet part
   * runs it on NOTIFY, re-LISTEN and every second); `pollMs` polls here too (tests).
   */
  async start(): Promise<void> {
    this.#o.trust.onRecord = (did, e) => this.submit(did, e);
    const every = (ms: number, fn: () => unknown) => {
      const t = setInterval(fn, ms);
      Deno.unrefTimer(t);
      this.#timers.push(t);
    };
    every(Math.max(50, Math.floor((this.#o.coalesceMs ?? 1000) / 4)), () => {
      const due = this.#coalescer.due(this.#now());
      if (due.length > 0) this.#enqueue(due);
    });
    if (this.#o.pollMs) every(this.#o.pollMs, () => this.poll().catch(() => {}));
    this.#enqueue([]);
    await this.flushed();
  }

  /** A recorded event: penalties at once, allows coalesced. */
  submit(did: string, event: TrustEvent): void {
    if (this.#closed) return;
    if (event.type === "allowed") {
      const due = this.#coalescer.add(did, event.at);
      if (due.length > 0) this.#enqueue(due);
      return;
    }
    this.#enqueue([{ id: crypto.randomUUID(), did, event }]);
  }

  #enqueue(items: Pending[]): void {
    this.#queued.push(...items);
    if (this.#flushing) return;
    this.#flushing = (async () => {
      await null; // `#flushing` is set before this body runs (its `finally` clears it)
      try {
        while (this.#queued.length > 0 || this.#unapplied.length > 0) {
          this.#persistQueued();
          if (!(await this.#drain())) break;
        }
      } finally {
        // What arrived while the database failed is durable before the flush ends.
        this.#persistQueued();
        this.#flushing = null;
      }
    })();
  }

  /** Move queued events into the fsync'd outbox (one write). */
  #persistQueued(): void {
    const batch = this.#queued.splice(0);
    if (batch.length === 0) return;
    appendOutbox(this.#o.outboxPath, batch);
    this.#unapplied.push(...batch);
  }

  /** Apply every unapplied event in order; false when the database failed (kept for later). */
  async #drain(): Promise<boolean> {
    while (this.#unapplied.length > 0) {
      const p = this.#unapplied[0];
      let r: Applied;
      try {
        this.#inflight = p;
        r = await this.#o.db.tx("trust event", async (tx) => {
          const a = await applyTrustEvent(tx, this.#o.hostId, p, {
            config: this.#o.trust.config,
            ban: this.#o.ban,
          });
          if (a.applied && (this.#o.wakeup ?? "notify") === "notify") {
            await tx`SELECT pg_notify(${TRUST_CHANNEL}, ${p.did})`;
          }
          return a;
        });
      } catch (e) {
        this.lastError = (e as Error).message;
        this.#unsure = p; // a transaction past its deadline may still have committed
        return false;
      } finally {
        this.#inflight = null;
      }
      this.#unsure = null;
      this.lastError = null;
      this.#unapplied.shift();
      this.#adopt(p.did, r.state, r.version, true);
    }
    truncateOutbox(this.#o.outboxPath);
    return true;
  }

  /**
   * Take the fleet's state for a did into the cache and follow the change. The cache is the
   * row plus this host's events for the did not applied yet: adopting the bare row while
   * penalties wait in the outbox would lift the score back up (a demoted agent promoted
   * again, a revoked one never reaching the threshold). The same version is adopted again
   * (the apply's own adopt, once the event left the outbox, recomputes from the newest row).
   */
  #adopt(did: string, state: TrustState, version: number, applied = false): void {
    // A row read while one of this did's events is being applied (or its failed apply may
    // have committed) may or may not hold it: the apply's own adopt takes the row that does. Counting it twice would
    // push the cache down by a penalty that never happened, and a kill cannot be undone.
    if (!applied && (this.#inflight?.did === did || this.#unsure?.did === did)) return;
    if ((this.#versions.get(did) ?? -1) > version) return;
    this.#versions.set(did, version);
    const config = this.#o.trust.config;
    let cached = state;
    for (const p of this.#unapplied) {
      if (p.did === did) cached = applyFleetEvent(cached, p.event, config);
    }
    for (const p of this.#queued) {
      if (p.did === did) cached = applyFleetEvent(cached, p.event, config);
    }
    const now = this.#now();
    const before = this.#o.trust.adopt(did, cached, now);
    const after = decayed(cached, now, config);
    if (after !== before) this.#o.changed?.(did, before, after);
  }

  /** Re-read one did's row. */
  async refresh(did: string): Promise<void> {
    const rows = await this.#o.db.q(
      "trust refresh",
      (sql) => sql<Row[]>`SELECT score, at, earned, version FROM trust_scores WHERE did = ${did}`,
    );
    if (rows[0]) this.#adopt(did, rowState(rows[0]), Number(rows[0].version));
  }

  /** Read the rows changed since the last poll (overlapping by 2 s); retry the outbox. */
  async poll(): Promise<void> {
    if (this.#closed) return;
    if (this.backlog > 0) this.#enqueue([]);
    const rows = await this.#o.db.q(
      "trust poll",
      (sql) =>
        this.#since === null
          ? sql<(Row & { did: string; now: string })[]>`SELECT did, score, at, earned, version,
          now()::text AS now FROM trust_scores`
          : sql<(Row & { did: string; now: string })[]>`SELECT did, score, at, earned, version,
          now()::text AS now FROM trust_scores
          WHERE changed_at > ${this.#since}::timestamptz - interval '2 seconds'`,
    );
    for (const r of rows) this.#adopt(r.did, rowState(r), Number(r.version));
    if (rows[0]) this.#since = rows[0].now;
    else {
      const [n] = await this.#o.db.q("trust poll", (sql) => sql`SELECT now()::text AS now`);
      this.#since = n.now as string;
    }
  }

  /** Events recorded but not yet applied in the database. */
  get backlog(): number {
    return this.#unapplied.length + this.#queued.length;
  }

  /** Wait until the current flush (if any) ends. */
  async flushed(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  /** Ship the open allow windows, flush, and stop. */
  async close(): Promise<void> {
    this.#enqueue(this.#coalescer.due(Infinity));
    await this.flushed();
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    if (this.#o.trust.onRecord) this.#o.trust.onRecord = undefined;
  }
}

function readOutbox(path: string | undefined): Pending[] {
  if (!path) return [];
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const out: Pending[] = [];
  const lines = text.split("\n");
  let torn = false;
  lines.forEach((line, i) => {
    if (line === "") return;
    let p: Pending | undefined;
    try {
      const r = Pending.safeParse(JSON.parse(line));
      if (r.success) p = r.data;
    } catch { /* below */ }
    if (p && (i < lines.length - 1)) out.push(p);
    // A torn last line (a crash mid-write: no newline) is dropped; anything else is refused.
    else if (i === lines.length - 1) torn = true;
    else throw new Error(`${path}:${i + 1}: not a trust event`);
  });
  if (torn) {
    // Cut it off so the next append does not glue onto it.
    truncateOutbox(path);
    appendOutbox(path, out);
  }
  return out;
}

function appendOutbox(path: string | undefined, items: Pending[]): void {
  if (!path) return;
  Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const f = Deno.openSync(path, { append: true, create: true, mode: 0o600 });
  try {
    const bytes = new TextEncoder().encode(items.map((p) => JSON.stringify(p) + "\n").join(""));
    let off = 0;
    while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
    f.syncSync();
  } finally {
    f.close();
  }
}

function truncateOutbox(path: string | undefined): void {
  if (!path) return;
  try {
    Deno.truncateSync(path, 0);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** The trust part of a fleet host: ships events, refreshes the cache, bans below 100. */
export const trustPart: FleetPartFactory = (ctx) => {
  const wakeup = ctx.config.wakeup;
  const ft = new FleetTrust({
    db: ctx.db,
    hostId: ctx.hostId,
    trust: ctx.host.trust,
    outboxPath: join(ctx.config.dir, "trust-outbox.jsonl"),
    wakeup,
    ban: (tx, did, reason) =>
      appendRevocation(tx, {
        kind: "agent_ban",
        target: did,
        reason,
        issuedBy: `host:${ctx.hostId}`,
      }, wakeup),
    changed: (did, before, after) => ctx.host.trustChanged(did, before, after),
  });
  let stop: (() => void) | undefined;
  const part: FleetPart & { trust: FleetTrust } = {
    name: "trust",
    trust: ft,
    async start() {
      await ft.start();
      stop = ctx.watch(TRUST_CHANNEL, 1000, () => ft.poll());
    },
    async close() {
      stop?.();
      await ft.close();
    },
  };
  return part;
};
