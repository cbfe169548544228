/**
 * A2 (FLEET.md §9): signed policy bundles across real host processes. Publishing moves every
 * host on the channel to the new version (reported in hosts.status); a tampered signature or a
 * bundle that does not compile is active nowhere, every host reports the error and keeps the
 * last good one; a host restarted with the database down boots on its persisted bundle, and a
 * host with none starts no agents. Both wake-up modes.
 */
import { join } from "node:path";
import postgres from "postgres";
import { assertEquals } from "../policy/asserts.ts";
import { runDeno } from "../cli/run.ts";
import { canonicalJson } from "../../governance/audit/mod.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { connectFleetDb } from "../../runtime/fleet/db.ts";
import { canaryPoint, publishBundle } from "../../runtime/fleet/bundles.ts";
import { type Cluster, freshDatabase, startCluster } from "./pg.ts";
import { type FleetHost, startHosts, stopHosts, until } from "./hosts.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const SLEEPER = new URL("../server/agents/sleeper.ts", import.meta.url).pathname;
const AGENTS = new URL("../../policies/agents.yaml", import.meta.url).pathname;

async function publisher(): Promise<{ keystore: string; did: string }> {
  const keystore = await Deno.makeTempDir({ prefix: "warden-pub-" });
  const did = (await new Keystore(keystore).signer("publisher")).did;
  return { keystore, did };
}

async function policyDir(extra = ""): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "warden-bundle-" });
  await Deno.writeTextFile(join(dir, "agents.yaml"), Deno.readTextFileSync(AGENTS) + extra);
  return dir;
}

async function publish(url: string, keystore: string, dir: string, wakeup: string) {
  const r = await runDeno([
    "task",
    "-q",
    "policy",
    "publish",
    dir,
    "--channel",
    "prod",
    "--keystore",
    keystore,
    "--fleet",
    url,
    "--fleet-wakeup",
    wakeup,
  ]);
  if (r.code !== 0) throw new Error(`publish: ${r.code} ${r.stdout} ${r.stderr}`);
  return Number(/published v(\d+)/.exec(r.stdout)![1]);
}

type Status = { id: string; policy?: { active: number | null; error: string | null } };
async function statuses(url: string): Promise<Status[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`SELECT id, status FROM hosts ORDER BY id`;
    return rows.map((r) => ({ id: r.id, ...r.status }));
  } finally {
    await sql.end();
  }
}

const allActive = (url: string, n: number, v: number) => async () => {
  const s = await statuses(url);
  return s.length === n && s.every((h) => h.policy?.active === v) ? s : undefined;
};

async function tryStart(h: FleetHost, name: string) {
  const r = await h.api("/api/agents", { body: { module: SLEEPER, name } });
  const j = await r.json();
  if (r.status === 201) await h.api(`/api/agents/${j.id}/stop`, { body: { reason: "t" } });
  return { status: r.status, error: j.error as string | undefined };
}

for (const wakeup of ["notify", "poll"] as const) {
  Deno.test({
    name: `fleet policy (${wakeup}): publish reaches all 3 hosts; bad bundles active nowhere`,
    ...opts,
    fn: async () => {
      const url = await freshDatabase();
      const pub = await publisher();
      const config = { wakeup, channel: "prod", publishers: [pub.did], policyPollMs: 1000 };
      const hosts = await startHosts(3, url, { config });
      try {
        // No bundle yet: a host on a channel starts no agents.
        const before = await tryStart(hosts[0], "early");
        assertEquals(before.status, 422);
        if (!before.error?.includes("no bundle of channel prod is active")) {
          throw new Error(before.error);
        }
        const v1 = await publish(url, pub.keystore, await policyDir(), wakeup);
        await until("all hosts on v1", allActive(url, 3, v1), 30_000);
        assertEquals((await tryStart(hosts[1], "after")).status, 201);
        const v2 = await publish(url, pub.keystore, await policyDir("\n# v2\n"), wakeup);
        await until("all hosts on v2", allActive(url, 3, v2), 30_000);

        // A tampered signature: the channel moves to a bundle whose signature does not verify.
        const db = connectFleetDb(url);
        const sql = db.sql;
        const [h] = await sql`UPDATE stream_heads SET pos = pos + 1 WHERE stream = 'policy'
          RETURNING pos`;
        const v3 = Number(h.pos);
        const text = canonicalJson({
          format: 1,
          channel: "prod",
          version: v3,
          files: [{ path: "agents.yaml", text: Deno.readTextFileSync(AGENTS) }],
        });
        const digest = Array.from(
          new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
        ).map((b) => b.toString(16).padStart(2, "0")).join("");
        await sql`INSERT INTO policy_bundles (version, digest, bundle, sig, publisher)
          VALUES (${v3}, ${digest}, ${new TextEncoder().encode(text)}, ${"A".repeat(86)},
            ${pub.did})`;
        await sql`UPDATE policy_channels SET version = ${v3} WHERE name = 'prod'`;
        if (wakeup === "notify") await sql`SELECT pg_notify('warden_policy', 'prod')`;
        await until("every host reports the bad signature", async () => {
          const s = await statuses(url);
          return s.every((x) =>
            x.policy?.error?.includes(`v${v3}: bad signature`) &&
            x.policy.active === v2
          );
        }, 30_000);

        // A bundle signed by the publisher that does not compile (the CLI compiles first; a
        // stolen key or a bug need not).
        const signer = await new Keystore(pub.keystore).signer("publisher");
        const bad = await publishBundle(db, wakeup, signer, "prod", [
          { path: "agents.yaml", text: "apiVersion: warden/v1\nkind: Policy\nrules: [oops\n" },
        ]);
        await until("every host reports the compile error", async () => {
          const s = await statuses(url);
          return s.every((x) =>
            x.policy?.error?.includes(`v${bad.version} does not compile`) &&
            x.policy.active === v2
          );
        }, 30_000);
        // Last good kept: agents still start.
        assertEquals((await tryStart(hosts[2], "still")).status, 201);
        await db.close();
      } finally {
        await stopHosts(hosts);
      }
    },
  });
}

Deno.test({
  name: "fleet policy: restarted with the database down, a host boots on its persisted bundle",
  ...opts,
  fn: async () => {
    const cluster: Cluster = startCluster();
    const url = await cluster.createDatabase();
    const pub = await publisher();
    const config = { channel: "prod", publishers: [pub.did], staleMs: 600_000 };
    const hosts = await startHosts(1, url, { config });
    let fresh: FleetHost[] = [];
    try {
      const v1 = await publish(url, pub.keystore, await policyDir(), "notify");
      await until("host on v1", allActive(url, 1, v1), 30_000);
      await hosts[0].stop();
      cluster.stop();
      await hosts[0].restart();
      if (!hosts[0].lines.some((l) => l.includes("database unreachable"))) {
        throw new Error(hosts[0].lines.join("\n"));
      }
      assertEquals((await tryStart(hosts[0], "offline")).status, 201);
      // A host with no persisted bundle and the database down starts no agents.
      fresh = await startHosts(1, url, { config: { ...config, hostId: "host-new" } });
      const r = await tryStart(fresh[0], "none");
      assertEquals(r.status, 422);
      if (!r.error?.includes("starting no agents")) throw new Error(r.error);
    } finally {
      await stopHosts([...hosts, ...fresh]);
      cluster.destroy();
    }
  },
});

Deno.test({
  name: "fleet policy: a canary reaches only the hosts below its share; a frozen channel refuses",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const pub = await publisher();
    const [p0, p1] = [canaryPoint("host-0"), canaryPoint("host-1")];
    const share = Math.round(((p0 + p1) / 2) * 1000) / 1000; // between the two hosts
    const below = p0 < p1 ? "host-0" : "host-1";
    const config = { channel: "prod", publishers: [pub.did], policyPollMs: 1000 };
    const hosts = await startHosts(2, url, { config });
    const db = connectFleetDb(url);
    try {
      const v1 = await publish(url, pub.keystore, await policyDir(), "notify");
      await until("both on v1", allActive(url, 2, v1), 30_000);
      const signer = await new Keystore(pub.keystore).signer("publisher");
      const c = await publishBundle(db, "notify", signer, "prod", [
        { path: "agents.yaml", text: Deno.readTextFileSync(AGENTS) + "\n# canary\n" },
      ], share);
      assertEquals(c.canary, true);
      const s = await until("the canary on one host", async () => {
        const st = await statuses(url);
        return st.find((h) => h.policy?.active === c.version) ? st : undefined;
      }, 30_000);
      await new Promise((r) => setTimeout(r, 2_500)); // the other host's polls do not take it
      const st = await statuses(url);
      assertEquals(
        st.map((h) => [h.id, h.policy?.active]),
        s.map((h) => [h.id, h.id === below ? c.version : v1]),
      );
      const frozen = await runDeno([
        "task",
        "-q",
        "policy",
        "freeze",
        "--channel",
        "prod",
        "--fleet",
        url,
      ]);
      assertEquals([frozen.code, frozen.stdout.trim()], [0, "channel prod frozen"]);
      const refused = await runDeno([
        "task",
        "-q",
        "policy",
        "publish",
        await policyDir(),
        "--channel",
        "prod",
        "--keystore",
        pub.keystore,
        "--fleet",
        url,
      ]);
      assertEquals(refused.code, 1);
      if (!refused.stderr.includes("channel prod is frozen")) throw new Error(refused.stderr);
      const thawed = await runDeno([
        "task",
        "-q",
        "policy",
        "freeze",
        "--channel",
        "prod",
        "--off",
        "--fleet",
        url,
      ]);
      assertEquals(thawed.code, 0);
      const v3 = await publish(url, pub.keystore, await policyDir("\n# v3\n"), "notify");
      await until("both on v3", allActive(url, 2, v3), 30_000);
    } finally {
      await db.close();
      await stopHosts(hosts);
    }
  },
});
