/**
 * The fleet directory and messages (FLEET.md §6.6): `agents` rows (did → host) upserted as
 * agents start and stop; `messages.send` to an agent on another host goes did → host →
 * `peer_url` (cached 5 s; hosts with an expired lease read as offline) to the existing
 * `POST /warden/v1/messages`, every envelope check unchanged. Senders reserve sequence numbers
 * in blocks of 64 (`msg_seq.next_out`), so they survive the sender moving hosts (a crash leaves
 * a gap < 64, inside the receiver's window of 1024); receivers load `last_in` when an agent
 * registers and write it back asynchronously. Database down: local delivery is unaffected;
 * cross-host sends use the cache and fail closed when the sequence block runs out.
 * @module
 */
import type { MessageDirectory } from "../messages/router.ts";
import { type FleetAuditQuery, queryFleetAudit } from "./audit_verify.ts";
import type { FleetDb } from "./db.ts";
import type { FleetPartFactory } from "./mod.ts";

/** Sequence numbers reserved per sender/recipient pair at a time. */
export const SEQ_BLOCK = 64;
const CACHE_MS = 5_000;

/** An agent as the directory lists it. */
export interface DirectoryAgent {
  did: string;
  name: string;
  ring: number;
  labels: Record<string, string>;
}

/** Options of {@link FleetDirectory}. */
export interface FleetDirectoryOptions {
  db: FleetDb;
  hostId: string;
  /** The running agents of this host (reconciled into `agents`). */
  agents: () => DirectoryAgent[];
  skewMs?: number;
  now?: () => number;
}

/** The directory of one host: its agents' rows, peer lookups, sequence blocks. */
export class FleetDirectory implements MessageDirectory {
  readonly skewMs: number;
  #o: FleetDirectoryOptions;
  #peers = new Map<string, { url: string | undefined; at: number }>();
  #blocks = new Map<string, { next: number; end: number }>();
  #reserving = new Map<string, Promise<void>>();
  #lastIn = new Map<string, number>();
  #published = new Map<string, string>();
  #syncing: Promise<void> | null = null;

  constructor(opts: FleetDirectoryOptions) {
    this.#o = opts;
    this.skewMs = opts.skewMs ?? 30_000;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  async peerOf(did: string): Promise<string | undefined> {
    const c = this.#peers.get(did);
    if (c && this.#now() - c.at < CACHE_MS) return c.url;
    try {
      const rows = await this.#o.db.q(
        "directory lookup",
        (sql) =>
          sql`SELECT h.peer_url FROM agents a JOIN hosts h ON h.id = a.host_id
          WHERE a.did = ${did} AND a.state = 'running' AND h.lease_expires > now()
            AND h.id <> ${this.#o.hostId}`,
      );
      const url = (rows[0]?.peer_url as string | null | undefined) ?? undefined;
      this.#peers.set(did, { url, at: this.#now() });
      return url;
    } catch (e) {
      if (c) return c.url; // the database is away: the cache, however old
      throw e;
    }
  }

  async nextSeq(from: string, to: string): Promise<number> {
    const key = `${from}|${to}`;
    for (;;) {
      const b = this.#blocks.get(key);
      if (b && b.next < b.end) return b.next++;
      let r = this.#reserving.get(key);
      if (!r) {
        r = this.#reserve(from, to, key).finally(() => this.#reserving.delete(key));
        this.#reserving.set(key, r);
      }
      await r;
    }
  }

  async #reserve(from: string, to: string, key: string): Promise<void> {
    let start: number;
    try {
      const [row] = await this.#o.db.q(
        "message sequence block",
        (sql) =>
          sql`INSERT INTO msg_seq (from_did, to_did, next_out) VALUES (${from}, ${to},
            ${1 + SEQ_BLOCK}) ON CONFLICT (from_did, to_did)
          DO UPDATE SET next_out = msg_seq.next_out + ${SEQ_BLOCK}
          RETURNING (next_out - ${SEQ_BLOCK})::bigint AS start`,
      );
      start = Number(row.start);
    } catch (e) {
      throw new Error(
        `message sequence block unavailable (fleet database): ${(e as Error).message}`,
      );
    }
    this.#blocks.set(key, { next: start, end: start + SEQ_BLOCK });
  }

  async lastIn(to: string): Promise<Map<string, number>> {
    const rows = await this.#o.db.q(
      "message last_in",
      (sql) => sql`SELECT from_did, last_in::bigint AS last_in FROM msg_seq WHERE to_did = ${to}`,
    );
    return new Map(rows.map((r) => [r.from_did as string, Number(r.last_in)]));
  }

  accepted(from: string, to: string, seq: number): void {
    const key = `${from}|${to}`;
    if (seq > (this.#lastIn.get(key) ?? 0)) this.#lastIn.set(key, seq);
  }

  /** Write accepted sequences back and reconcile this host's agents' rows (never throws). */
  sync(): Promise<void> {
    return this.#syncing ??= this.#sync().catch(() => {}).finally(() => (this.#syncing = null));
  }

  async #sync(): Promise<void> {
    const seen = [...this.#lastIn];
    this.#lastIn.clear();
    try {
      for (const [key, seq] of seen) {
        const [from, to] = key.split("|");
        await this.#o.db.q(
          "message last_in",
          (sql) =>
            sql`INSERT INTO msg_seq (from_did, to_did, last_in) VALUES (${from}, ${to}, ${seq})
            ON CONFLICT (from_did, to_did)
            DO UPDATE SET last_in = greatest(msg_seq.last_in, excluded.last_in)`,
        );
      }
    } catch (e) {
      for (const [key, seq] of seen) {
        if (seq > (this.#lastIn.get(key) ?? 0)) this.#lastIn.set(key, seq);
      }
      throw e;
    }
    await this.publish();
  }

  /** Upsert the rows of this host's running agents; mark its other rows stopped. */
  async publish(): Promise<void> {
    const now = new Map(this.#o.agents().map((a) => [a.did, a]));
    for (const [did, a] of now) {
      const sig = JSON.stringify([a.name, a.ring, a.labels]);
      if (this.#published.get(did) === sig) continue;
      await this.#o.db.q(
        "directory upsert",
        (sql) =>
          sql`INSERT INTO agents (did, name, host_id, ring, labels, state, since)
          VALUES (${did}, ${a.name}, ${this.#o.hostId}, ${a.ring}, ${sql.json(a.labels)},
            'running', now())
          ON CONFLICT (did) DO UPDATE SET name = excluded.name, host_id = excluded.host_id,
            ring = excluded.ring, labels = excluded.labels, state = 'running',
            since = CASE WHEN agents.host_id = excluded.host_id AND agents.state = 'running'
              THEN agents.since ELSE now() END`,
      );
      this.#published.set(did, sig);
    }
    for (const did of [...this.#published.keys()]) {
      if (now.has(did)) continue;
      await this.#o.db.q(
        "directory stop",
        (sql) =>
          sql`UPDATE agents SET state = 'stopped', since = now()
          WHERE did = ${did} AND host_id = ${this.#o.hostId}`,
      );
      this.#published.delete(did);
    }
  }
}

/** The directory part: agents' rows, cross-host sends, sequence blocks. */
export const directoryPart: FleetPartFactory = (ctx) => {
  const host = ctx.host;
  const dir = new FleetDirectory({
    db: ctx.db,
    hostId: ctx.hostId,
    agents: () =>
      host.agents().map((h) => ({
        did: h.id,
        name: h.name,
        ring: h.ref.ring,
        labels: h.ref.labels,
      })),
  });
  let timer: ReturnType<typeof setInterval> | undefined;
  let off: (() => void) | undefined;
  return {
    name: "directory",
    async start() {
      host.messages.directory = dir;
      if (!ctx.config.peerUrl) {
        // Other hosts deliver to this host's agents here (envelope checks as for any peer).
        ctx.lease.info.peerUrl = host.servePeer(0).url;
        await ctx.lease.renew();
      }
      // Starts and stops show at once; the 1 s tick catches the rest (and a database return).
      off = host.audit.subscribe((e) => {
        if (e.path === "host" && e.action.startsWith("agent.")) queueMicrotask(() => dir.sync());
      });
      timer = setInterval(() => dir.sync(), 1000);
      Deno.unrefTimer(timer);
      await dir.sync();
    },
    async close() {
      clearInterval(timer);
      off?.();
      if (host.messages.directory === dir) host.messages.directory = undefined;
      await dir.sync();
    },
  };
};

/** A host as the console's fleet view shows it. */
export interface FleetHostView {
  id: string;
  did: string;
  apiUrl: string | null;
  live: boolean;
  leaseExpires: string;
  /** `hosts.status.policy.active` (the bundle version it runs), when it follows a channel. */
  policy: number | null;
  policyError: string | null;
  /** Audit lines not yet shipped (`hosts.status.audit.lag`). */
  auditLag: number | null;
}

/** An agent anywhere in the fleet. */
export interface FleetAgentView {
  did: string;
  name: string;
  host: string;
  ring: number;
  state: string;
  /** `offline`: its host's lease expired. */
  online: boolean;
  since: string;
}

/** What the API and console read of the fleet (GET /api/fleet, GET /api/audit). */
export interface FleetView {
  overview(): Promise<{ hostId: string; hosts: FleetHostView[]; agents: FleetAgentView[] }>;
  audit(q: FleetAuditQuery): Promise<Record<string, unknown>[]>;
}

/** The fleet view over the database. */
export function fleetView(db: FleetDb, hostId: string): FleetView {
  return {
    async overview() {
      const hosts = await db.q(
        "fleet hosts",
        (sql) =>
          sql`SELECT id, did, api_url, lease_expires > now() AS live,
          lease_expires::text AS lease_expires, status FROM hosts ORDER BY id`,
      );
      const agents = await db.q(
        "fleet agents",
        (sql) =>
          sql`SELECT a.did, a.name, a.host_id, a.ring, a.state, a.since::text AS since,
          coalesce(h.lease_expires > now(), false) AS online
          FROM agents a LEFT JOIN hosts h ON h.id = a.host_id
          WHERE a.state = 'running' ORDER BY a.name, a.did LIMIT 10000`,
      );
      const num = (x: unknown) => typeof x === "number" ? x : null;
      return {
        hostId,
        hosts: hosts.map((h) => {
          const st = (h.status ?? {}) as {
            policy?: { active?: unknown; error?: unknown };
            audit?: { lag?: unknown };
          };
          return {
            id: h.id,
            did: h.did,
            apiUrl: h.api_url ?? null,
            live: h.live === true,
            leaseExpires: h.lease_expires,
            policy: num(st.policy?.active),
            policyError: typeof st.policy?.error === "string" ? st.policy.error : null,
            auditLag: num(st.audit?.lag),
          };
        }),
        agents: agents.map((a) => ({
          did: a.did,
          name: a.name,
          host: a.host_id,
          ring: Number(a.ring),
          state: a.state,
          online: a.online === true,
          since: a.since,
        })),
      };
    },
    audit: (q) => queryFleetAudit(db, q),
  };
}
