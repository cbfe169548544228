/**
 * The fleet kill switch (FLEET.md §6.7): an ordered revocation stream. Issuing bumps the
 * `stream_heads` row (its lock makes commit order equal `pos` order), inserts the row and
 * NOTIFYs in one transaction. Every host applies rows after its `applied_pos` in order: a kill
 * is the host's own kill switch, a ban/revoke/fence/freeze also enters the local deny set;
 * position and deny set persist in `$WARDEN_HOME/fleet/revocations.json`; each applied row gets
 * a `revocation_acks` row naming what this host reaped. Every successful catch-up resets the
 * isolation clock.
 */
import { join } from "node:path";
import { z } from "zod";
import type { FleetDb, Tx, Wakeup } from "./db.ts";
import type { FleetContext, FleetPart, FleetPartFactory } from "./mod.ts";
import type { GuardAsk } from "../host.ts";

/** What a revocation does. */
export const REVOCATION_KINDS = [
  "agent_kill",
  "agent_ban",
  "plugin_revoke",
  "key_revoke",
  "host_fence",
  "fleet_freeze",
] as const;
export type RevocationKind = typeof REVOCATION_KINDS[number];

/** A revocation to issue. `target`: an agent's did or name, a plugin name, a did, a host id. */
export const RevocationInput = z.strictObject({
  kind: z.enum(REVOCATION_KINDS),
  target: z.string().min(1).max(512),
  reason: z.string().max(1000).default(""),
  issuedBy: z.string().min(1).max(200),
  /** Milliseconds since the epoch after which a ban/revoke/fence/freeze lapses. */
  expiresAt: z.number().int().positive().optional(),
});
export type Revocation = z.input<typeof RevocationInput>;

/** The wake-up channel of the revocation stream. */
export const REVOCATIONS_CHANNEL = "warden_revocations";

/** Append one revocation inside `tx`; returns its position. */
export async function appendRevocation(tx: Tx, r: Revocation, wakeup: Wakeup): Promise<number> {
  const v = RevocationInput.parse(r);
  const [h] = await tx`UPDATE stream_heads SET pos = pos + 1 WHERE stream = 'revocations'
    RETURNING pos`;
  const pos = Number(h.pos);
  const expires = v.expiresAt === undefined ? null : new Date(v.expiresAt);
  await tx`INSERT INTO revocations (pos, kind, target, reason, issued_by, expires_at)
    VALUES (${pos}, ${v.kind}, ${v.target}, ${v.reason}, ${v.issuedBy}, ${expires})`;
  if (wakeup === "notify") await tx`SELECT pg_notify(${REVOCATIONS_CHANNEL}, ${String(pos)})`;
  return pos;
}

/** Issue one revocation in its own transaction; returns its position. */
export function issueRevocation(db: FleetDb, wakeup: Wakeup, r: Revocation): Promise<number> {
  return db.tx("issue revocation", (tx) => appendRevocation(tx, r, wakeup));
}

const Entry = z.object({ target: z.string(), pos: z.number(), expiresAt: z.number().nullable() });
const State = z.object({
  appliedPos: z.number().int().min(0),
  deny: z.array(Entry.extend({ kind: z.enum(REVOCATION_KINDS) })),
});
type State = z.infer<typeof State>;

/** The host's applied revocations: its position and deny set (persisted). */
export class RevocationState {
  state: State = { appliedPos: 0, deny: [] };
  constructor(readonly path: string) {
    try {
      this.state = State.parse(JSON.parse(Deno.readTextFileSync(path)));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new Error(`${path}: unreadable revocation state (${(e as Error).message})`);
      }
    }
  }

  save(): void {
    const tmp = `${this.path}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(this.state), { mode: 0o600 });
    Deno.renameSync(tmp, this.path);
  }

  /**
   * The live deny entry refusing `ask` on host `hostId`, if any: a ban or key revocation of
   * its name or did, a plugin revocation of a plugin's name, a fence of this host, a freeze.
   */
  denied(ask: GuardAsk, hostId: string, now = Date.now()) {
    const agent = [ask.name, ask.did];
    return this.state.deny.find((d) => {
      if (d.expiresAt !== null && d.expiresAt <= now) return false;
      switch (d.kind) {
        case "agent_ban":
          return ask.kind !== "plugin" && agent.includes(d.target);
        case "key_revoke":
          return agent.includes(d.target);
        case "plugin_revoke":
          return ask.kind === "plugin" && agent.includes(d.target);
        case "host_fence":
          return d.target === hostId;
        case "fleet_freeze":
          return true;
        case "agent_kill":
          return false;
      }
    });
  }
}

interface Row {
  pos: string | number;
  kind: RevocationKind;
  target: string;
  reason: string;
  issued_by: string;
  expires_at: Date | null;
}

/** The revocations part: catch up, apply, persist, acknowledge; guards starts. */
export class RevocationsPart implements FleetPart {
  readonly name = "revocations";
  readonly local: RevocationState;
  #unguard: (() => void) | undefined;

  constructor(readonly ctx: FleetContext) {
    Deno.mkdirSync(ctx.config.dir, { recursive: true, mode: 0o700 });
    this.local = new RevocationState(join(ctx.config.dir, "revocations.json"));
  }

  start(): void {
    const { ctx } = this;
    this.#unguard = ctx.host.addGuard((ask) => {
      const iso = ctx.isolation.refusal(
        ask.kind === "start" ? "agent start" : ask.kind === "plugin" ? "plugin load" : "ring raise",
      );
      if (iso) return iso;
      const hit = this.local.denied(ask, ctx.hostId);
      if (!hit) return undefined;
      return `fleet ${hit.kind.replace("_", " ")} #${hit.pos} refuses ${
        ask.kind === "raise" ? "a ring raise" : ask.kind === "plugin" ? "this plugin" : "this start"
      } of ${ask.name}`;
    });
    ctx.isolation.onChange((isolated) =>
      ctx.log(
        isolated
          ? `isolated: no catch-up with the revocation stream for ${ctx.config.staleMs} ms; ` +
            "refusing agent starts, ring raises, plugin loads and approvals"
          : "caught up with the revocation stream; isolation lifted",
      )
    );
    ctx.watch(REVOCATIONS_CHANNEL, ctx.config.revocationPollMs, () => this.catchUp());
  }

  /** Apply every row after the local position; resets the isolation clock when complete. */
  async catchUp(): Promise<void> {
    const { ctx } = this;
    for (;;) {
      const from = this.local.state.appliedPos;
      const rows = await ctx.db.q(
        "revocations",
        (sql) =>
          sql<Row[]>`SELECT pos, kind, target, reason, issued_by, expires_at FROM revocations
          WHERE pos > ${from} ORDER BY pos LIMIT 200`,
      );
      for (const r of rows) {
        // Dense and in commit order: the head row's lock serializes issuers.
        const pos = Number(r.pos);
        const result = await this.#apply(r, pos);
        this.local.state.appliedPos = pos;
        this.local.save();
        await ctx.db.q(
          "revocation ack",
          (sql) =>
            sql`INSERT INTO revocation_acks (pos, host_id, result) VALUES
            (${pos}, ${ctx.hostId}, ${sql.json(result as never)}) ON CONFLICT DO NOTHING`,
        );
      }
      if (rows.length < 200) break;
    }
    ctx.isolation.caughtUp();
    ctx.setStatus("revocations", { applied: this.local.state.appliedPos });
  }

  async #apply(r: Row, pos: number): Promise<{ reaped: string[]; note?: string }> {
    const { host, hostId } = this.ctx;
    const expiresAt = r.expires_at ? r.expires_at.getTime() : null;
    if (r.kind !== "agent_kill") {
      this.local.state.deny.push({ kind: r.kind, target: r.target, pos, expiresAt });
    }
    const why = `fleet ${r.kind.replace("_", " ")} #${pos} by ${r.issued_by}${
      r.reason ? `: ${r.reason}` : ""
    }`;
    if (expiresAt !== null && expiresAt <= Date.now()) return { reaped: [], note: "expired" };
    const victims = host.agents().filter((a) => {
      switch (r.kind) {
        case "agent_kill":
        case "agent_ban":
        case "key_revoke":
          return a.id === r.target || a.name === r.target;
        case "plugin_revoke":
          return a.name === r.target || a.name === `plugin-${r.target}`;
        case "host_fence":
          return r.target === hostId;
        case "fleet_freeze":
          return false; // a freeze refuses new work; running agents continue
      }
    });
    const reaped: string[] = [];
    await Promise.all(victims.map(async (a) => {
      const exit = await host.kill(a.id, why).catch(() => undefined);
      if (exit) reaped.push(a.id);
    }));
    return { reaped };
  }

  close(): void {
    this.#unguard?.();
  }
}

/** The revocations part (every fleet host has it). */
export const revocationsPart: FleetPartFactory = (ctx) => new RevocationsPart(ctx);
