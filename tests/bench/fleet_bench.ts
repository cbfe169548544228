/**
 * Fleet timings (FLEET.md §9) on one machine: 3 real host processes on a throwaway local
 * PostgreSQL. Kill across hosts (issue on A → reaped on B, from the revocation's and the ack's
 * database timestamps), policy propagation (publish → every host active, hosts' own clocks on
 * the same machine), approval release (approve on A → the decision audited on B).
 * Each in notify and poll mode. The full run uses §9's sizes in notify mode (200 kills, 50
 * publishes) and 50 approvals; poll mode runs fewer (each poll trial waits about one poll
 * interval: 1 s for kills and approvals, 5 s for policy), and every row names its trial count.
 * `--quick` runs a few of each (checks it works, no figures).
 */
import { join } from "node:path";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { connectFleetDb, type FleetDb } from "../../runtime/fleet/db.ts";
import { publishBundle } from "../../runtime/fleet/bundles.ts";
import { startCluster } from "../fleet/pg.ts";
import { type FleetHost, startHosts, stopHosts, until } from "../fleet/hosts.ts";
import { type BenchRow, pct } from "./stats.ts";

const SPINNER = new URL("../server/agents/spinner.ts", import.meta.url).pathname;
const ASKER = new URL("../server/agents/asker.ts", import.meta.url).pathname;
const AGENTS = new URL("../../policies/agents.yaml", import.meta.url).pathname;

function row(name: string, mode: string, ms: number[], notes: string): BenchRow {
  const s = [...ms].sort((a, b) => a - b);
  return {
    name,
    engine: `warden fleet (${mode})`,
    p50_us: pct(s, 0.5) * 1000,
    p99_us: pct(s, 0.99) * 1000,
    p999_us: pct(s, 0.999) * 1000,
    ops_per_s: 0,
    samples: s.length,
    notes: s.length < 1000 ? `${notes}; p99.9 is the worst of ${s.length}` : notes,
  };
}

async function started(h: FleetHost, module: string, name: string): Promise<string> {
  const j = await h.json<{ id: string }>("/api/agents", { body: { module, name } });
  return j.id;
}

async function killTrials(db: FleetDb, [a, b]: FleetHost[], n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = await started(b, SPINNER, `spin${i}`);
    const { revocation } = await a.json<{ revocation: number }>(`/api/agents/${id}/kill`, {
      body: { reason: "bench" },
    });
    const ms = await until("ack", async () => {
      const [r] = await db.sql`SELECT extract(epoch FROM k.at - r.issued_at) * 1000 AS ms
        FROM revocation_acks k JOIN revocations r ON r.pos = k.pos
        WHERE k.pos = ${revocation} AND k.host_id = ${b.hostId}
          AND jsonb_array_length(k.result -> 'reaped') = 1`;
      return r ? Number(r.ms) : undefined;
    }, 60_000);
    out.push(ms);
  }
  return out;
}

async function policyTrials(
  db: FleetDb,
  hosts: FleetHost[],
  keystore: string,
  mode: "notify" | "poll",
  n: number,
): Promise<number[]> {
  const signer = await new Keystore(keystore).signer("publisher");
  const text = Deno.readTextFileSync(AGENTS);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = Date.now();
    const p = await publishBundle(db, mode, signer, "bench", [
      { path: "agents.yaml", text: `${text}\n# ${i}\n` },
    ]);
    const at = await until("all active", async () => {
      const rows = await db.sql`SELECT status -> 'policy' AS p FROM hosts`;
      const ok = rows.length === hosts.length && rows.every((r) => r.p?.active === p.version);
      return ok ? rows.map((r) => Date.parse(r.p.at)) : undefined;
    }, 60_000);
    out.push(Math.max(...at) - t0);
  }
  return out;
}

async function approvalTrials([a, b]: FleetHost[], n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = await started(b, ASKER, `ask${i}`);
    const p = await until("parked", async () => {
      const l = await a.json<{ id: string; hash: string; agent: { id: string } }[]>(
        "/api/approvals",
      );
      return l.find((x) => x.agent.id === id);
    }, 60_000);
    const t0 = Date.now();
    await a.json(`/api/approvals/${p.id}/approve`, { body: { hash: p.hash } });
    const ts = await until("released", async () => {
      const l = await b.json<{ ts: string; approval?: string }[]>("/api/audit?action=approval");
      return l.find((e) => e.approval === p.id)?.ts;
    }, 60_000);
    out.push(Date.parse(ts) - t0);
  }
  return out;
}

/** Trials per mode: kills, policy publishes, approvals. */
export const FLEET_TRIALS = {
  quick: {
    notify: { kill: 5, policy: 5, approval: 3 },
    poll: { kill: 3, policy: 3, approval: 3 },
  },
  full: {
    notify: { kill: 200, policy: 50, approval: 50 },
    poll: { kill: 50, policy: 10, approval: 20 },
  },
} as const;

/** The fleet rows of `deno task bench --only fleet`. */
export async function runFleetBench(
  o: { quick: boolean; log: (line: string) => void },
): Promise<BenchRow[]> {
  const cluster = startCluster();
  const rows: BenchRow[] = [];
  const keystore = await Deno.makeTempDir({ prefix: "warden-bench-pub-" });
  const did = (await new Keystore(keystore).signer("publisher")).did;
  try {
    for (const mode of ["notify", "poll"] as const) {
      const url = await cluster.createDatabase();
      o.log(`fleet (${mode}): starting 3 hosts`);
      const hosts = await startHosts(3, url, {
        config: { wakeup: mode, channel: "bench", publishers: [did] },
      });
      const db = connectFleetDb(url);
      const n = FLEET_TRIALS[o.quick ? "quick" : "full"][mode];
      const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
        const t0 = performance.now();
        o.log(`fleet (${mode}): ${what}`);
        const r = await f();
        o.log(`fleet (${mode}): ${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        return r;
      };
      try {
        const pol = await timed(
          `policy propagation, ${n.policy} publishes`,
          () => policyTrials(db, hosts, keystore, mode, n.policy),
        );
        rows.push(
          row(
            `fleet policy propagation to 3 hosts (${n.policy} publishes)`,
            mode,
            pol,
            "publish → all active",
          ),
        );
        const kill = await timed(
          `kill across hosts, ${n.kill} trials`,
          () => killTrials(db, hosts, n.kill),
        );
        rows.push(
          row(
            `fleet kill across hosts (${n.kill} trials)`,
            mode,
            kill,
            "issued on A → reaped on B (database timestamps)",
          ),
        );
        const appr = await timed(
          `approval release, ${n.approval} trials`,
          () => approvalTrials(hosts, n.approval),
        );
        rows.push(
          row(
            `fleet approval release (${n.approval} trials)`,
            mode,
            appr,
            "approved on A → resolved on B",
          ),
        );
      } finally {
        await db.close();
        await stopHosts(hosts);
      }
    }
  } finally {
    cluster.destroy();
    await Deno.remove(join(keystore), { recursive: true }).catch(() => {});
  }
  return rows;
}
