/**
 * Audit federation, the shipping half (FLEET.md §6.2): the host's own log is unchanged (hash
 * chain, write-before-ack); a shipper copies its **exact lines** (the chain hash covers their
 * bytes) into `audit_entries` from `max(seq)` of this host, at most 500 lines at a time or every
 * 100 ms, `ON CONFLICT DO NOTHING`, and then the signed checkpoints that cover only shipped
 * lines into `audit_checkpoints`. It reads the files (not memory), so a restart or a database
 * outage only delays it: the backlog is the log file. Lag (local − shipped) goes to
 * `hosts.status.audit`.
 * @module
 */
import { checkpointPath } from "../audit/log.ts";
import type { FleetDb } from "./db.ts";
import type { FleetPartFactory } from "./mod.ts";

/** Index columns of one line (the line itself is stored as written). */
export interface ShippedRow {
  host_id: string;
  seq: number;
  ts: string;
  agent_did: string | null;
  agent_name: string | null;
  action: string | null;
  effect: string | null;
  rule: string | null;
  line: string;
}

/** The row of a line; throws on a line that is not an audit entry. */
export function rowOf(hostId: string, line: string): ShippedRow {
  const e = JSON.parse(line);
  if (!Number.isSafeInteger(e?.seq) || typeof e.ts !== "string") {
    throw new Error("not an audit entry");
  }
  const str = (x: unknown) => typeof x === "string" ? x.slice(0, 512) : null;
  return {
    host_id: hostId,
    seq: e.seq,
    ts: e.ts,
    agent_did: str(e.agent?.id),
    agent_name: str(e.agent?.name),
    action: str(e.action),
    effect: str(e.effect),
    rule: str(e.rule),
    line,
  };
}

/** Reads whole new lines of a growing file from a byte offset. */
export class LineTail {
  #offset = 0;
  #partial = new Uint8Array(0);
  constructor(readonly path: string) {}

  /** New complete lines since the last call ([] when the file does not exist yet). */
  read(maxBytes = 4 << 20): string[] {
    let f: Deno.FsFile;
    try {
      f = Deno.openSync(this.path, { read: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    try {
      f.seekSync(this.#offset, Deno.SeekMode.Start);
      const buf = new Uint8Array(maxBytes);
      const n = f.readSync(buf) ?? 0;
      if (n <= 0) return [];
      this.#offset += n;
      const all = new Uint8Array(this.#partial.length + n);
      all.set(this.#partial);
      all.set(buf.subarray(0, n), this.#partial.length);
      const end = all.lastIndexOf(0x0a) + 1;
      this.#partial = all.slice(end);
      if (end === 0) return [];
      return new TextDecoder().decode(all.subarray(0, end - 1)).split("\n");
    } finally {
      f.close();
    }
  }
}

/** Options of {@link AuditShipper}. */
export interface AuditShipperOptions {
  db: FleetDb;
  hostId: string;
  /** The host's audit log file. */
  path: string;
  /** Lines per insert (default 500). */
  batch?: number;
  /** Period (default 100 ms). */
  everyMs?: number;
  /** Called with the lag after every tick. */
  status?: (s: { shipped: number; local: number; lag: number; error: string | null }) => void;
}

/** Ships one host's audit log (lines, then checkpoints) to the fleet database. */
export class AuditShipper {
  #o: AuditShipperOptions;
  #lines: LineTail;
  #cps: LineTail;
  /** Lines read but not yet shipped. */
  #pending: string[] = [];
  #pendingCps: string[] = [];
  /** Next seq to ship (= lines shipped). */
  #next: number | null = null;
  #local = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ticking: Promise<void> | null = null;
  #closed = false;
  lastError: string | null = null;

  constructor(opts: AuditShipperOptions) {
    this.#o = opts;
    this.#lines = new LineTail(opts.path);
    this.#cps = new LineTail(checkpointPath(opts.path));
  }

  /** Lines in the database for this host (after the last tick). */
  get shipped(): number {
    return this.#next ?? 0;
  }

  start(): void {
    const loop = () => {
      if (this.#closed) return;
      this.#timer = setTimeout(() => {
        this.#ticking = this.tick().finally(loop);
      }, this.#o.everyMs ?? 100);
      Deno.unrefTimer(this.#timer);
    };
    loop();
  }

  /** Resume from the database's `max(seq)`: skip the lines already there. */
  async #resume(): Promise<void> {
    const [r] = await this.#o.db.q(
      "audit resume",
      (sql) =>
        sql`SELECT coalesce(max(seq) + 1, 0)::bigint AS next FROM audit_entries
        WHERE host_id = ${this.#o.hostId}`,
    );
    this.#next = Number(r.next);
  }

  /** Ship what is new (never throws; a failure is kept for the next tick). */
  async tick(): Promise<void> {
    const batch = this.#o.batch ?? 500;
    try {
      if (this.#next === null) await this.#resume();
      for (;;) {
        if (this.#pending.length === 0) {
          // Read the file chunk by chunk (a backlog after an outage may be large).
          const read = this.#lines.read();
          if (read.length === 0) break;
          for (const l of read) {
            this.#local++;
            if (this.#local > this.#next!) this.#pending.push(l);
          }
          continue;
        }
        const chunk = this.#pending.slice(0, batch);
        const rows = chunk.map((l) => rowOf(this.#o.hostId, l));
        if (rows[0].seq !== this.#next) {
          throw new Error(`audit log seq ${rows[0].seq} where ${this.#next} was expected`);
        }
        await this.#o.db.q(
          "audit ship",
          (sql) =>
            sql`INSERT INTO audit_entries ${
              sql(
                rows,
                "host_id",
                "seq",
                "ts",
                "agent_did",
                "agent_name",
                "action",
                "effect",
                "rule",
                "line",
              )
            } ON CONFLICT DO NOTHING`,
        );
        this.#pending.splice(0, chunk.length);
        this.#next! += chunk.length;
      }
      this.#pendingCps.push(...this.#cps.read());
      // Checkpoints go after the lines they cover (a verifier never sees one ahead of them).
      while (this.#pendingCps.length > 0) {
        const line = this.#pendingCps[0];
        const size = Number(JSON.parse(line).size);
        if (!Number.isSafeInteger(size) || size > this.#next!) break;
        await this.#o.db.q(
          "audit checkpoint",
          (sql) =>
            sql`INSERT INTO audit_checkpoints (host_id, size, line)
            VALUES (${this.#o.hostId}, ${size}, ${line}) ON CONFLICT DO NOTHING`,
        );
        this.#pendingCps.shift();
      }
      this.lastError = null;
    } catch (e) {
      this.lastError = (e as Error).message;
    }
    const local = Math.max(this.#local, this.#next ?? 0);
    this.#o.status?.({
      shipped: this.#next ?? 0,
      local,
      lag: local - (this.#next ?? 0),
      error: this.lastError,
    });
  }

  /** Ship until nothing is left (or `ms` passed); true when drained. */
  async drain(ms = 10_000): Promise<boolean> {
    const end = performance.now() + ms;
    await this.#ticking;
    do {
      await this.tick();
      if (
        this.#pending.length === 0 && this.#pendingCps.length === 0 && this.lastError === null
      ) return true;
      await new Promise((r) => setTimeout(r, 50));
    } while (performance.now() < end);
    return false;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#ticking;
  }
}

/** The audit shipping part (hosts whose audit log is a file). */
export const auditShipPart: FleetPartFactory = (ctx) => {
  const path = ctx.host.audit.path;
  if (!path) return undefined;
  const shipper = new AuditShipper({
    db: ctx.db,
    hostId: ctx.hostId,
    path,
    status: (s) => ctx.setStatus("audit", s),
  });
  return {
    name: "audit",
    start: () => shipper.start(),
    async close() {
      await ctx.host.audit.flush();
      await shipper.drain(2_000);
      await shipper.close();
    },
  };
};
