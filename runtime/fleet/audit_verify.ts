/**
 * Audit federation, the checking half (FLEET.md §6.2): `audit verify --fleet` re-verifies
 * every host's chain from the database rows with the same verifier as a local file
 * (`verifyEntries`), pins the checkpoints' key to the host's did in `hosts`, and names the
 * first bad (host, seq) — a changed byte, a gap, a missing tail under a signed checkpoint.
 * Also the cross-host query of the API (`GET /api/audit?agent=…` in fleet mode).
 * @module
 */
import type { Checkpoint } from "../../governance/audit/mod.ts";
import { verifyEntries, type VerifyResult } from "../audit/verify.ts";
import type { FleetDb } from "./db.ts";

/** One host's verdict. */
export interface HostVerdict extends VerifyResult {
  host: string;
  /** The seq of the first bad entry (null when none or unknown). */
  firstBadSeq: number | null;
}

/** Read one host's lines in seq order (pages of `page`); a gap is a problem at its seq. */
async function hostLines(
  db: FleetDb,
  host: string,
  page: number,
): Promise<{ lines: string[]; gap: number | null }> {
  const lines: string[] = [];
  for (;;) {
    const rows = await db.q(
      "audit verify read",
      (sql) =>
        sql`SELECT seq::bigint AS seq, line FROM audit_entries
        WHERE host_id = ${host} AND seq >= ${lines.length} ORDER BY seq LIMIT ${page}`,
      60_000,
    );
    for (const r of rows) {
      if (Number(r.seq) !== lines.length) return { lines, gap: lines.length };
      lines.push(r.line as string);
    }
    if (rows.length < page) return { lines, gap: null };
  }
}

/** Verify every host's shipped audit chain (or only `only`). */
export async function verifyFleet(
  db: FleetDb,
  opts: { only?: string; page?: number } = {},
): Promise<HostVerdict[]> {
  const hosts = await db.q("audit verify hosts", (sql) =>
    sql`SELECT DISTINCT e.host_id, h.did FROM
      (SELECT DISTINCT host_id FROM audit_entries UNION SELECT DISTINCT host_id FROM audit_checkpoints) e
      LEFT JOIN hosts h ON h.id = e.host_id ORDER BY e.host_id`, 60_000);
  const out: HostVerdict[] = [];
  for (const h of hosts) {
    const host = h.host_id as string;
    if (opts.only !== undefined && host !== opts.only) continue;
    const { lines, gap } = await hostLines(db, host, opts.page ?? 10_000);
    const cpRows = await db.q(
      "audit verify checkpoints",
      (sql) => sql`SELECT line FROM audit_checkpoints WHERE host_id = ${host} ORDER BY size`,
      60_000,
    );
    const cps: Checkpoint[] = [];
    let unreadable: string | null = null;
    for (const r of cpRows) {
      try {
        cps.push(JSON.parse(r.line as string));
      } catch {
        unreadable ??= "a checkpoint row is not JSON";
      }
    }
    const key = (h.did as string | null) ?? undefined;
    let v: VerifyResult = await verifyEntries(lines, cps.length ? cps : null, key, "checkpoint");
    if (unreadable) v = { ...v, ok: false, problem: unreadable };
    if (key === undefined) {
      v = {
        ...v,
        ok: false,
        problem: `host ${host} is not in the hosts table: its key is unknown`,
      };
    }
    if (gap !== null && (v.ok || v.firstBad === null || v.firstBad >= gap)) {
      v = { ...v, ok: false, firstBad: gap, problem: `entry ${gap} is missing (a gap)` };
    }
    out.push({ ...v, host, firstBadSeq: v.ok ? null : v.firstBad });
  }
  return out;
}

/** A query over every host's shipped entries. */
export interface FleetAuditQuery {
  agent?: string;
  action?: string;
  effect?: string;
  since?: string;
  until?: string;
  limit: number;
}

/** The newest `limit` matching entries of every host, in ts order (then host, seq). */
export async function queryFleetAudit(
  db: FleetDb,
  q: FleetAuditQuery,
): Promise<(Record<string, unknown> & { host: string })[]> {
  const rows = await db.q("audit query", (sql) =>
    sql`SELECT host_id, line FROM (
      SELECT host_id, seq, ts, line FROM audit_entries WHERE true
      ${q.agent ? sql`AND (agent_did = ${q.agent} OR agent_name = ${q.agent})` : sql``}
      ${q.action ? sql`AND action = ${q.action}` : sql``}
      ${q.effect ? sql`AND effect = ${q.effect}` : sql``}
      ${q.since ? sql`AND ts >= ${q.since}::timestamptz` : sql``}
      ${q.until ? sql`AND ts <= ${q.until}::timestamptz` : sql``}
      ORDER BY ts DESC, host_id DESC, seq DESC LIMIT ${q.limit}) x
      ORDER BY ts, host_id, seq`);
  return rows.map((r) => ({ ...JSON.parse(r.line as string), host: r.host_id as string }));
}
