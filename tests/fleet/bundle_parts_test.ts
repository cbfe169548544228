/**
 * Complete policy bundles (FLEET.md §6.1, issue 21): a bundle carries rings, SLOs, the plugin
 * keyring and the revoked list beside its policy files, and hosts apply all of them in one swap.
 * Hostile bundles first: a rings part raised after signing, a keyring part swapped, an
 * oversized bundle, a signed bundle with unknown fields, a rings part that does not compile —
 * each active nowhere, reported by every host, the last good kept. A files-only (format 1)
 * bundle still loads and gives the host its own rings and SLOs back. An SRE `freeze_rollouts`
 * freezes the channel in the database (audited) and a publish while frozen is taken by no host.
 * Two in-process hosts on the shared test cluster.
 */
import { join } from "node:path";
import { z } from "zod";
import { assertEquals } from "../policy/asserts.ts";
import { runDeno } from "../cli/run.ts";
import { canonicalJson } from "../../governance/audit/mod.ts";
import { compilePolicySet } from "../../governance/mod.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { AgentHost } from "../../runtime/host.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { connectFleetDb, type FleetDb } from "../../runtime/fleet/db.ts";
import { type Fleet, fleetConfig, startFleet } from "../../runtime/fleet/mod.ts";
import {
  type BundlesPart,
  MAX_BUNDLE_BYTES,
  publishBundle,
  signBundle,
} from "../../runtime/fleet/bundles.ts";
import type { Signer } from "../../governance/identity/mod.ts";
import { PluginStore, signPluginFolder, verifyInstalled } from "../../runtime/plugins/mod.ts";
import { copyExample, newSigner, refuses } from "../plugins/helpers.ts";
import { freshDatabase } from "./pg.ts";
import { until } from "./hosts.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const BUILTIN = Deno.readTextFileSync(
  new URL("../../runtime/policy/builtin.yaml", import.meta.url),
);
const RINGS = Deno.readTextFileSync(new URL("../../policies/rings.yaml", import.meta.url));
const FLAKY_AGENT = new URL("../sre/agents/flaky_user.ts", import.meta.url).pathname;
const POLICY = `apiVersion: warden/v1
kind: Policy
name: t
rules:
  - { id: flaky, effect: allow, action: tool.call, resource: flaky }
`;
const FILES = [{ path: "t.yaml", text: POLICY }];
/** Ring 3's pid budget lowered: a rings part a host must apply. */
const RINGS_V1 = RINGS.replace(
  /( {2}3:\n {4}memory: 512MiB\n {4}disk: 256MiB\n) {4}pids: 128/,
  "$1    pids: 64",
);
const SLOS = (actions: string) =>
  `apiVersion: warden/v1
kind: SLOs
slos:
  - name: user-success
    kind: success
    scope: { agent: user }
    target: 0.9
    window: 60s
    alerts: [{ severity: page, burn: 2, long: 10s, short: 2s }]
    actions: [${actions}]
`;

interface InProcess {
  id: string;
  home: string;
  host: AgentHost;
  fleet: Fleet;
  bundles: BundlesPart;
}

async function startHost(
  url: string,
  id: string,
  publisher: string,
  tools = new ToolRegistry(),
): Promise<InProcess> {
  const home = await Deno.makeTempDir({ prefix: `warden-parts-${id}-` });
  const keystore = new Keystore(join(home, "keys"));
  const signer = await keystore.signer("host");
  const host = new AgentHost({
    policy: compilePolicySet([{ path: "builtin.yaml", text: BUILTIN }]),
    rings: loadRings(),
    auditPath: join(home, "audit.jsonl"),
    signer,
    keystore,
    tools,
    stateDir: home,
    sre: { evaluateMs: 100, bucketMs: 500 },
  });
  const config = fleetConfig(url, join(home, "fleet"), {
    channel: "prod",
    publishers: [publisher],
    hostId: id,
    policyPollMs: 500,
  });
  const fleet = await startFleet(host, config, { did: signer.did });
  return { id, home, host, fleet, bundles: fleet.part<BundlesPart>("bundles")! };
}

async function stopAll(hosts: InProcess[]): Promise<void> {
  for (const h of hosts) {
    await h.fleet.close().catch(() => {});
    await h.host.close().catch(() => {});
    await Deno.remove(h.home, { recursive: true }).catch(() => {});
  }
}

async function publisher(): Promise<{ keystore: string; signer: Signer }> {
  const keystore = await Deno.makeTempDir({ prefix: "warden-pub-" });
  return { keystore, signer: await new Keystore(keystore).signer("publisher") };
}

/** Store `text` as the next version with the given digest and signature; move the channel. */
async function storeRaw(
  db: FleetDb,
  make: (version: number) => Promise<{ text: string; digest: string; sig: string }>,
  publisherDid: string,
): Promise<number> {
  const [h] = await db.sql`UPDATE stream_heads SET pos = pos + 1 WHERE stream = 'policy'
    RETURNING pos`;
  const v = Number(h.pos);
  const { text, digest, sig } = await make(v);
  await db.sql`INSERT INTO policy_bundles (version, digest, bundle, sig, publisher)
    VALUES (${v}, ${digest}, ${new TextEncoder().encode(text)}, ${sig}, ${publisherDid})`;
  await db.sql`UPDATE policy_channels SET version = ${v} WHERE name = 'prod'`;
  await db.sql`SELECT pg_notify('warden_policy', 'prod')`;
  return v;
}

/** Wait until every host refused version `v` with `error` and kept `active`. */
async function allRefuse(hosts: InProcess[], v: number, error: string, active: number) {
  await until(
    `every host refuses v${v} (${error})`,
    () =>
      hosts.every((h) =>
        h.bundles.error?.startsWith(`bundle v${v}`) && h.bundles.error.includes(error) &&
        h.bundles.active === active
      ),
    30_000,
  );
}

function keyring(did: string) {
  return { v: 1 as const, publishers: [{ did, name: "acme", addedAt: "2026-01-01T00:00:00Z" }] };
}

Deno.test({
  name:
    "fleet bundle parts: rings, SLOs, keyring and revocations swap together; tampering is refused",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const pub = await publisher();
    const plugins = await publisher(); // a plugin publisher's did for the keyring part
    const hosts = [
      await startHost(url, "host-a", pub.signer.did),
      await startHost(url, "host-b", pub.signer.did),
    ];
    const db = connectFleetDb(url);
    try {
      const boot = new Map(hosts.map((h) => [h.id, h.host.governor.rings]));
      const revoked = {
        v: 1 as const,
        keys: [],
        versions: [{ plugin: "evil@1.0.0", revokedAt: "2026-01-01T00:00:00Z" }],
      };
      const v1 = await publishBundle(db, "notify", pub.signer, "prod", FILES, undefined, {
        rings: { path: "rings.yaml", text: RINGS_V1 },
        slos: { path: "slos.yaml", text: SLOS("alert") },
        keyring: keyring(plugins.signer.did),
        revoked,
      });
      await until("both hosts on v1", () => hosts.every((h) => h.bundles.active === v1.version));
      for (const h of hosts) {
        assertEquals(h.host.governor.rings.doc.budgets?.[3]?.pids, 64);
        assertEquals(h.host.sre.slos?.slos.map((s) => s.name), ["user-success"]);
        assertEquals(h.bundles.parts, ["files", "rings", "slos", "keyring", "revoked"]);
        const store = join(h.home, "plugins");
        assertEquals(
          JSON.parse(Deno.readTextFileSync(join(store, "keyring.json"))),
          keyring(plugins.signer.did),
        );
        assertEquals(JSON.parse(Deno.readTextFileSync(join(store, "revoked.json"))), revoked);
      }
      const liveRings = hosts[0].host.governor.rings;
      const livePolicy = hosts[0].host.governor.policy;
      const [stored] = await db.sql`SELECT bundle, digest, sig FROM policy_bundles
        WHERE version = ${v1.version}`;
      const signedText = new TextDecoder().decode(stored.bundle);

      // 1. The rings part raised after signing (ring 3 gets the network), old signature kept.
      const raised = await storeRaw(db, async (v) => {
        const c = JSON.parse(signedText);
        c.version = v;
        const before = c.rings.text;
        c.rings.text = before.replace(
          /( {2}3: #[^\n]*\n(?: {4}[^\n]*\n){2}) {4}net: false/,
          "$1    net: true",
        );
        if (c.rings.text === before) throw new Error("the tamper did not apply");
        const text = canonicalJson(c);
        const { digest } = await signBundle(pub.signer, text); // the digest of the new bytes
        return { text, digest, sig: String(stored.sig) };
      }, pub.signer.did);
      await allRefuse(hosts, raised, "bad signature", v1.version);

      // 2. The keyring part swapped for an attacker's, the signed digest kept.
      const attacker = await publisher();
      const swapped = await storeRaw(db, (v) => {
        const c = JSON.parse(signedText);
        c.version = v;
        c.keyring = keyring(attacker.signer.did);
        return Promise.resolve({
          text: canonicalJson(c),
          // The signed digest, one hex digit changed (the column is unique).
          digest: String(stored.digest).replace(/^./, (x) => x === "0" ? "1" : "0"),
          sig: String(stored.sig),
        });
      }, pub.signer.did);
      await allRefuse(hosts, swapped, "digest mismatch", v1.version);

      // 3. An oversized bundle: refused by its size, before it is read.
      const big = await storeRaw(db, (v) => {
        const text = canonicalJson({
          format: 1,
          channel: "prod",
          version: v,
          files: [{ path: "t.yaml", text: POLICY + "#".repeat(MAX_BUNDLE_BYTES) }],
        });
        return Promise.resolve({ text, digest: "0".repeat(64), sig: "A".repeat(86) });
      }, pub.signer.did);
      await allRefuse(hosts, big, "over the 8388608-byte limit", v1.version);
      let refusedBig = "";
      try {
        await publishBundle(db, "notify", pub.signer, "prod", [
          { path: "t.yaml", text: POLICY + "#".repeat(MAX_BUNDLE_BYTES) },
        ]);
      } catch (e) {
        refusedBig = (e as Error).message;
      }
      if (!refusedBig.includes("over the 8388608-byte limit")) throw new Error(refusedBig);

      // 4. Signed by the publisher, with a field no host knows: never half-applied.
      const unknown = await storeRaw(db, async (v) => {
        const c = JSON.parse(signedText);
        c.version = v;
        c.adminTokens = ["x"];
        const text = canonicalJson(c);
        return { text, ...(await signBundle(pub.signer, text)) };
      }, pub.signer.did);
      await allRefuse(hosts, unknown, 'Unrecognized key: "adminTokens"', v1.version);

      // 5. Signed, but its rings part does not compile: nothing of it applies (not the policy).
      const bad = await publishBundle(
        db,
        "notify",
        pub.signer,
        "prod",
        [
          { path: "t.yaml", text: POLICY + "# would-be v5\n" },
        ],
        undefined,
        {
          rings: { path: "rings.yaml", text: RINGS_V1.replace("    net: false", "    net: 7") },
          slos: { path: "slos.yaml", text: SLOS("kill") },
        },
      );
      await allRefuse(hosts, bad.version, "does not compile: bundle v", v1.version);
      if (!hosts[0].bundles.error!.includes(`bundle v${bad.version}:rings.yaml:`)) {
        throw new Error(hosts[0].bundles.error!);
      }
      assertEquals(hosts[0].host.governor.rings === liveRings, true);
      assertEquals(hosts[0].host.governor.policy === livePolicy, true);
      assertEquals(hosts[0].host.sre.slos?.slos[0].actions, [{ type: "alert" }]);
      const refusals = hosts[1].host.audit.recent.filter((e) =>
        e.action === "policy.bundle" && e.effect === "deny"
      );
      assertEquals(refusals.length >= 5, true);

      // Every host reports its error in hosts.status (the fleet CLI shows it).
      const status = await runDeno(["task", "-q", "fleet", "status", "--json", "--fleet", url]);
      assertEquals(status.code, 0);
      const s = z.object({
        hosts: z.array(z.object({
          id: z.string(),
          alive: z.boolean(),
          policy: z.object({ active: z.number(), error: z.string() }),
        })),
        channels: z.array(z.object({ name: z.string(), version: z.number() })),
      }).parse(JSON.parse(status.stdout));
      assertEquals(s.hosts.map((h) => [h.id, h.alive, h.policy.active]), [
        ["host-a", true, v1.version],
        ["host-b", true, v1.version],
      ]);
      assertEquals(s.hosts.every((h) => h.policy.error.includes(`v${bad.version}`)), true);

      // 6. A files-only bundle (format 1, as before this change) loads: the host's own rings and
      // SLOs come back; the plugin store keeps what the fleet wrote last.
      const v7 = await publishBundle(db, "notify", pub.signer, "prod", FILES);
      await until(
        "both hosts on the files-only bundle",
        () => hosts.every((h) => h.bundles.active === v7.version),
      );
      const [f] = await db.sql`SELECT bundle FROM policy_bundles WHERE version = ${v7.version}`;
      assertEquals(JSON.parse(new TextDecoder().decode(f.bundle)).format, 1);
      for (const h of hosts) {
        assertEquals(h.host.governor.rings === boot.get(h.id), true);
        assertEquals(h.host.sre.slos, undefined);
        assertEquals(h.bundles.parts, ["files"]);
        assertEquals(h.bundles.error, null);
      }
    } finally {
      await db.close();
      await stopAll(hosts);
    }
  },
});

Deno.test({
  name:
    "fleet bundle parts: an SLO's freeze_rollouts freezes the channel; a publish then is not taken",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const pub = await publisher();
    const tools = new ToolRegistry();
    let calls = 0;
    tools.register("flaky", {
      description: "fails one call in two",
      schema: z.object({ n: z.number() }),
      run: () => {
        if (++calls % 2 !== 0) throw new Error("backend down");
        return "ok";
      },
    });
    const hosts = [
      await startHost(url, "host-a", pub.signer.did, tools),
      await startHost(url, "host-b", pub.signer.did),
    ];
    const db = connectFleetDb(url);
    try {
      const v1 = await publishBundle(db, "notify", pub.signer, "prod", FILES, undefined, {
        slos: { path: "slos.yaml", text: SLOS("freeze_rollouts") },
      });
      await until("both hosts on v1", () => hosts.every((h) => h.bundles.active === v1.version));
      const agent = await hosts[0].host.start({ module: FLAKY_AGENT, name: "user" });
      await until("the channel is frozen in the database", async () => {
        const [c] = await db.sql`SELECT frozen FROM policy_channels WHERE name = 'prod'`;
        return c.frozen === true;
      }, 60_000);
      await agent.kill("done").catch(() => {});
      const audited = hosts[0].host.audit.recent.find((e) => e.action === "policy.channel.freeze");
      if (
        !audited?.reason.startsWith("rollouts frozen fleet-wide (channel prod): SLO user-success")
      ) {
        throw new Error(JSON.stringify(audited));
      }
      // A publish while frozen is refused; no host moves.
      const r = await runDeno([
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
      assertEquals(r.code, 1);
      if (!r.stderr.includes("channel prod is frozen")) throw new Error(r.stderr);
      await new Promise((res) => setTimeout(res, 1_500)); // polls at 500 ms: nothing to take
      assertEquals(hosts.map((h) => h.bundles.active), [v1.version, v1.version]);
    } finally {
      await db.close();
      await stopAll(hosts);
    }
  },
});

async function policyDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "warden-bundle-" });
  await Deno.writeTextFile(join(dir, "t.yaml"), POLICY);
  return dir;
}

Deno.test({
  name:
    "fleet bundle parts: `policy publish --keyring/--revoked/--rings/--slos` governs plugin loads",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const pub = await publisher();
    const [host] = [await startHost(url, "host-a", pub.signer.did)];
    const work = await Deno.makeTempDir({ prefix: "warden-parts-cli-" });
    try {
      // A plugin installed on the host while its own keyring trusted the plugin publisher.
      const author = await newSigner();
      const store = new PluginStore(host.home);
      store.trust(author.did, "local");
      const src = await copyExample(work);
      await signPluginFolder(src, author);
      await store.install(src, { ring: 3 });

      const file = async (name: string, value: unknown) => {
        const path = join(work, name);
        await Deno.writeTextFile(
          path,
          typeof value === "string" ? value : JSON.stringify(value),
        );
        return path;
      };
      const rings = await file("rings.yaml", RINGS_V1);
      const slos = await file("slos.yaml", SLOS("alert"));
      const trusted = await file("keyring.json", {
        v: 1,
        publishers: [{ did: author.did, name: "acme-fleet", addedAt: "2026-01-01T00:00:00Z" }],
      });
      const none = await file("none.json", { v: 1, keys: [], versions: [] });
      const revokedRelease = await file("revoked.json", {
        v: 1,
        keys: [],
        versions: [{ plugin: "weather@1.0.0", revokedAt: "2026-01-01T00:00:00Z" }],
      });
      const emptyKeyring = await file("empty.json", { v: 1, publishers: [] });
      const publish = async (keyring: string, revoked: string) => {
        const r = await runDeno([
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
          "--rings",
          rings,
          "--slos",
          slos,
          "--keyring",
          keyring,
          "--revoked",
          revoked,
        ]);
        assertEquals(r.code, 0, r.stderr);
        if (!r.stdout.includes("1 file(s) + rings, slos, keyring, revoked")) {
          throw new Error(r.stdout);
        }
        const v = Number(/published v(\d+)/.exec(r.stdout)![1]);
        await until(`the host on v${v}`, () => host.bundles.active === v);
        return v;
      };

      await publish(trusted, none);
      assertEquals(host.host.governor.rings.doc.budgets?.[3]?.pids, 64);
      assertEquals((await verifyInstalled(host.home, "weather")).publisherName, "acme-fleet");

      await publish(trusted, revokedRelease);
      await refuses(verifyInstalled(host.home, "weather"), "revoked-version", /weather/);

      await publish(emptyKeyring, none);
      await refuses(verifyInstalled(host.home, "weather"), "untrusted", /weather/);

      // A part that does not compile stops the publish before the database (file:line:col).
      const bad = await file("bad-rings.yaml", RINGS_V1.replace("    net: false", "    net: 7"));
      const r = await runDeno([
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
        "--rings",
        bad,
      ]);
      assertEquals(r.code, 1);
      if (!r.stderr.startsWith(`${bad}:`)) throw new Error(r.stderr);
    } finally {
      await stopAll([host]);
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
