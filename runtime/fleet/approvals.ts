/**
 * The fleet approval queue (FLEET.md §6.4) behind the host's `ApprovalQueue`: parking inserts
 * a row (`expires_at = now() + timeout`) and NOTIFYs; any host decides with one
 * compare-and-set on state, request hash and expiry (0 rows: unknown, mismatch or already
 * decided → 404/409); the owner resolves its waiter on notify or a poll; expiry uses the same
 * compare-and-set, so the row settles a race between a decision and the timeout. The database
 * down (or the host isolated) means a new `require_approval` is denied, naming the fleet queue.
 * A janitor expires pending rows of hosts whose lease ran out (their agents died with them).
 */
import type { ApprovalQueue, ApprovalStore, DecideResult, Pending } from "../approvals/queue.ts";
import type { FleetContext, FleetPart, FleetPartFactory } from "./mod.ts";

/** The wake-up channel of decided approvals (payload: the owner's host id). */
export const APPROVALS_CHANNEL = "warden_approvals";

/** The one-line reason a new approval is denied when the fleet queue cannot take it. */
export const QUEUE_UNAVAILABLE = "fleet approval queue unavailable";

/** The {@link ApprovalStore} on the fleet database. */
export class FleetApprovals implements ApprovalStore, FleetPart {
  readonly name = "approvals";

  constructor(readonly ctx: FleetContext, readonly queue: ApprovalQueue) {}

  start(): void {
    this.queue.setStore(this);
    this.ctx.watch(APPROVALS_CHANNEL, this.ctx.config.approvalPollMs, () => this.sync());
  }

  async park(item: Pending): Promise<void> {
    const { ctx } = this;
    const iso = ctx.isolation.refusal("approval");
    if (iso) throw new Error(iso);
    const ms = Math.max(0, Date.parse(item.expiresAt) - Date.now());
    try {
      await ctx.db.q(
        "park approval",
        (sql) =>
          sql`INSERT INTO approvals (id, host_id, agent_did, agent, request_hash, action, resource,
            rule, reason, item, expires_at)
          VALUES (${item.id}, ${ctx.hostId}, ${item.agent.id}, ${item.agent.name}, ${item.hash},
            ${item.action}, ${item.resource}, ${item.rule}, ${item.reason},
            ${sql.json(item as never)}, now() + ${ms} * interval '1 millisecond')`,
      );
    } catch (e) {
      throw new Error(`${QUEUE_UNAVAILABLE} (${(e as Error).message})`);
    }
  }

  async decide(
    id: string,
    outcome: "approved" | "denied",
    approver: string,
    hash: string,
  ): Promise<DecideResult> {
    const { ctx } = this;
    const iso = ctx.isolation.refusal("approval");
    if (iso) throw new Error(iso);
    const who = `${approver}@${ctx.hostId}`;
    return await ctx.db.tx("decide approval", async (tx) => {
      const won = await tx`UPDATE approvals SET state = ${outcome}, decided_by = ${who},
          decided_at = now()
        WHERE id = ${id} AND state = 'pending' AND request_hash = ${hash} AND expires_at > now()
        RETURNING host_id`;
      if (won.length === 1) {
        await ctx.notify(tx, APPROVALS_CHANNEL, String(won[0].host_id));
        return "ok";
      }
      const [row] = await tx`SELECT state, request_hash FROM approvals WHERE id = ${id}`;
      if (!row) return "unknown";
      if (row.state === "pending" && row.request_hash !== hash) return "mismatch";
      return "decided";
    });
  }

  async expire(
    id: string,
  ): Promise<{ outcome: "approved" | "denied"; approver: string } | undefined> {
    return await this.ctx.db.tx("expire approval", async (tx) => {
      const mine = await tx`UPDATE approvals SET state = 'expired', decided_at = now()
        WHERE id = ${id} AND state = 'pending' RETURNING id`;
      if (mine.length) return undefined;
      const [row] = await tx`SELECT state, decided_by FROM approvals WHERE id = ${id}`;
      if (row?.state === "approved" || row?.state === "denied") {
        return { outcome: row.state, approver: String(row.decided_by) };
      }
      return undefined;
    });
  }

  async list(): Promise<Pending[]> {
    const rows = await this.ctx.db.q(
      "list approvals",
      (sql) =>
        sql`SELECT item FROM approvals WHERE state = 'pending' AND expires_at > now()
        ORDER BY created_at LIMIT 1000`,
    );
    return rows.map((r) => r.item as Pending);
  }

  /** Resolve this host's waiters whose rows were decided; expire dead hosts' pending rows. */
  async sync(): Promise<void> {
    const { ctx } = this;
    const waiting = this.queue.list().map((p) => p.id);
    if (waiting.length) {
      const rows = await ctx.db.q(
        "decided approvals",
        (sql) =>
          sql`SELECT id, state, decided_by FROM approvals
          WHERE host_id = ${ctx.hostId} AND state IN ('approved', 'denied')
            AND id IN ${sql(waiting)}`,
      );
      for (const r of rows) this.queue.settle(String(r.id), r.state, String(r.decided_by));
    }
    await ctx.db.q(
      "approval janitor",
      (sql) =>
        sql`UPDATE approvals SET state = 'expired', decided_at = now()
        WHERE state = 'pending' AND host_id IN
          (SELECT id FROM hosts WHERE lease_expires < now() AND id <> ${ctx.hostId})`,
    );
  }

  close(): void {
    this.queue.setStore(undefined);
  }
}

/** The approvals part (hosts with an approval queue). */
export const approvalsPart: FleetPartFactory = (ctx, opts) =>
  opts.approvals ? new FleetApprovals(ctx, opts.approvals) : undefined;
