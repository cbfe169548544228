/** Audit log benchmarks: append throughput (group commit and commit-per-entry) and verification. */
import { join } from "node:path";
import type { AuditFields } from "../../governance/audit/mod.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { verifyLog } from "../../runtime/audit/verify.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { type BenchRow, pct } from "./stats.ts";

const fields = (i: number): AuditFields => ({
  ts: new Date(1_700_000_000_000 + i).toISOString(),
  path: i % 3 ? "broker" : "sdk",
  agent: {
    id: "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    name: "researcher",
    ring: 2,
  },
  action: i % 2 ? "fs.read" : "net.fetch",
  resource: i % 2 ? `/srv/agents/researcher/notes/${i}.md` : `https://api.github.com/repos/x/${i}`,
  effect: i % 7 ? "allow" : "deny",
  rule: i % 7 ? "workspace-read" : null,
  reason: i % 7
    ? 'allowed by rule "workspace-read"'
    : "no rule matched; the policy default is deny",
});

export async function runAuditBench(
  o: { quick: boolean; log: (s: string) => void },
): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "warden-audit-bench-" });
  const signer = await new Keystore(join(dir, "keys")).signer("host");
  const rows: BenchRow[] = [];
  try {
    for (
      const [name, batch] of [["audit.append group-commit-64", 64], [
        "audit.append commit-each",
        1,
      ]] as const
    ) {
      const n = o.quick ? 50_000 : 300_000;
      const log = new AuditLog(join(dir, `${batch}.jsonl`), {
        signer,
        checkpointEvery: 10_000,
        keep: 1000,
      });
      const lat = new Float64Array(n);
      const pool = Array.from({ length: 1024 }, (_, i) => fields(i));
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const s = performance.now();
        log.append(pool[i & 1023]);
        if ((i + 1) % batch === 0) log.commit();
        lat[i] = (performance.now() - s) * 1000;
      }
      await log.close();
      const secs = (performance.now() - t0) / 1000;
      lat.sort();
      rows.push({
        name,
        engine: "warden",
        p50_us: pct(lat, 0.5),
        p99_us: pct(lat, 0.99),
        p999_us: pct(lat, 0.999),
        ops_per_s: n / secs,
        samples: n,
        target: ">= 100k appends/s",
      });
      o.log(`${name} done`);
    }
    const n = o.quick ? 100_000 : 1_000_000;
    const path = join(dir, "verify.jsonl");
    const log = new AuditLog(path, { signer, checkpointEvery: 100_000, keep: 1000 });
    for (let i = 0; i < n; i++) {
      log.append(fields(i));
      if ((i + 1) % 256 === 0) log.commit();
    }
    await log.close();
    o.log(`wrote ${n} entries`);
    const t0 = performance.now();
    const r = await verifyLog(path, signer.did);
    const secs = (performance.now() - t0) / 1000;
    if (!r.ok) throw new Error(`bench log does not verify: ${r.problem}`);
    rows.push({
      name: `audit.verify ${n.toLocaleString("en-US")} entries`,
      engine: "warden",
      p50_us: secs * 1e6,
      p99_us: secs * 1e6,
      p999_us: secs * 1e6,
      ops_per_s: n / secs,
      samples: 1,
      seconds: secs,
      checkpoints: r.checkpoints,
      target: "1M entries <= 10 s",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}
