/**
 * The host's row in `hosts` and its lease: registered at start, renewed every `renewMs` to
 * `now() + leaseMs` (the database's clock), released at close. A host whose
 * `lease_expires < now()` is dead to the fleet. Each renewal also merges the host's status
 * patch into `hosts.status` (jsonb `||`: top-level keys are replaced, others kept).
 */
import type { FleetDb } from "./db.ts";
import { FleetDbError } from "./db.ts";

/** What the lease writes into the host's row. */
export interface LeaseInfo {
  hostId: string;
  did: string;
  apiUrl?: string;
  peerUrl?: string;
  version?: string;
  toolsDigest?: string;
}

export class Lease {
  #timer: ReturnType<typeof setInterval> | undefined;
  #last: number | null = null;
  #patch: Record<string, unknown> = {};
  #renewing: Promise<boolean> | undefined;
  #closed = false;
  /** Called after each successful renewal. */
  onRenewed: (() => void) | undefined;

  constructor(
    readonly db: FleetDb,
    readonly info: LeaseInfo,
    readonly ttlMs: number,
    readonly renewMs: number,
  ) {}

  /** `performance.now()` at the send time of the last successful renewal (null: none yet). */
  lastRenewedAt(): number | null {
    return this.#last;
  }

  /** Set `hosts.status[key]` (written with the next renewal, or at once with `flush`). */
  setStatus(key: string, value: unknown): void {
    this.#patch[key] = value;
  }

  /** Write the row now (register or renew); false when the database did not answer. */
  renew(): Promise<boolean> {
    return this.#renewing ??= this.#renew().finally(() => (this.#renewing = undefined));
  }

  async #renew(): Promise<boolean> {
    if (this.#closed) return false;
    const sent = performance.now();
    const i = this.info;
    const patch = { ...this.#patch };
    try {
      const rows = await this.db.q(
        "lease",
        (sql) =>
          sql`INSERT INTO hosts (id, did, peer_url, api_url, version, tools_digest, lease_expires,
            status)
          VALUES (${i.hostId}, ${i.did}, ${i.peerUrl ?? null}, ${i.apiUrl ?? null},
            ${i.version ?? null}, ${i.toolsDigest ?? null},
            now() + ${this.ttlMs} * interval '1 millisecond', ${sql.json(patch as never)})
          ON CONFLICT (id) DO UPDATE SET did = excluded.did, peer_url = excluded.peer_url,
            api_url = excluded.api_url, version = excluded.version,
            tools_digest = excluded.tools_digest, lease_expires = excluded.lease_expires,
            status = hosts.status || excluded.status
          WHERE hosts.did = excluded.did OR hosts.lease_expires < now()
          RETURNING id`,
      );
      if (rows.length === 0) {
        throw new FleetDbError(
          `fleet: host id ${i.hostId} is held by another live host (another did); ` +
            "give this host its own id (--fleet-config hostId) or WARDEN_HOME",
          "HOST_ID_TAKEN",
        );
      }
      this.#last = sent;
      for (const [k, v] of Object.entries(patch)) if (this.#patch[k] === v) delete this.#patch[k];
      this.onRenewed?.();
      return true;
    } catch (e) {
      if ((e as FleetDbError).code === "HOST_ID_TAKEN") throw e;
      return false;
    }
  }

  /** Renew every `renewMs` from now on. */
  start(): void {
    this.#timer ??= setInterval(() => this.renew().catch(() => {}), this.renewMs);
  }

  /** Stop renewing and release the lease (the row stays, expired). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#renewing?.catch(() => false);
    this.#closed = true;
    const i = this.info;
    await this.db.q(
      "lease release",
      (sql) =>
        sql`UPDATE hosts SET lease_expires = now(), status = status || ${
          sql.json(this.#patch as never)
        } WHERE id = ${i.hostId} AND did = ${i.did}`,
      2_000,
    ).catch(() => {});
  }
}
