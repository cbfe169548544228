/**
 * Directory and messages (§6.6): a send reaches an agent on another host through did → host →
 * peer_url (no static peers); an envelope captured on the agent's old host is refused after the
 * agent moves (its last_in follows it); a sender that moves hosts keeps a sequence the receiver
 * accepts; offline hosts are not routed to. The console's fleet view, in a real browser.
 */
import { join } from "node:path";
import { chromium } from "playwright-core";
import { assert, assertEquals } from "../policy/asserts.ts";
import { ApprovalQueue } from "../../runtime/approvals/queue.ts";
import { AgentHost } from "../../runtime/host.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { controlPlane } from "../../runtime/server/api.ts";
import {
  type Envelope,
  sealEnvelope,
  type Signer,
  signerFromKeyPair,
} from "../../governance/identity/mod.ts";
import type { AgentRef } from "../../runtime/governor.ts";
import { connectFleetDb, type FleetDb } from "../../runtime/fleet/db.ts";
import { migrate } from "../../runtime/fleet/migrate.ts";
import { FleetDirectory, fleetView, SEQ_BLOCK } from "../../runtime/fleet/directory.ts";
import { MessageRouter } from "../../runtime/messages/router.ts";
import { servePeer } from "../../runtime/server/peer.ts";
import { makeGovernor } from "../saga/helpers.ts";
import { freshDatabase } from "./pg.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

async function signer(): Promise<Signer> {
  const kp = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  return signerFromKeyPair(kp as CryptoKeyPair);
}

const ref = (did: string, name: string): AgentRef => ({
  id: did,
  name,
  ring: 2,
  trust: 650,
  labels: {},
  workspace: "/tmp/w",
  code: "/tmp/c",
  sdk: "/tmp/s",
});

/** One host: a router on its own peer endpoint, with the fleet directory. */
async function fleetHost(db: FleetDb, id: string, agents: AgentRef[]) {
  const router = new MessageRouter(makeGovernor());
  const peer = servePeer(router);
  const dir = new FleetDirectory({
    db,
    hostId: id,
    agents: () => agents.map((a) => ({ did: a.id, name: a.name, ring: a.ring, labels: {} })),
  });
  router.directory = dir;
  await db.q(
    "host",
    (s) =>
      s`INSERT INTO hosts (id, did, peer_url, lease_expires) VALUES (${id}, ${`did:host:${id}`},
      ${peer.url}, now() + interval '1 minute')`,
  );
  const register = async (a: AgentRef) => {
    agents.push(a);
    router.register(a);
    await dir.publish();
    await new Promise((r) => setTimeout(r, 100)); // lastIn is loaded asynchronously
  };
  const unregister = async (a: AgentRef) => {
    agents.splice(agents.indexOf(a), 1);
    router.unregister(a.id);
    await dir.sync();
  };
  for (const a of [...agents]) router.register(a);
  await dir.publish();
  return { router, peer, dir, register, unregister };
}

Deno.test({
  name: "fleet directory: sends reach another host's agent; a move keeps seq and refuses replays",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const db = connectFleetDb(url);
    await migrate(db);
    const alice = await signer(); // the sender, on host A
    const bob = ref((await signer()).did, "bob");
    const a = await fleetHost(db, "A", []);
    const b = await fleetHost(db, "B", [bob]);
    const c = await fleetHost(db, "C", []);
    try {
      // Capture what A sends (to replay it later) by wrapping fetch.
      const sent: { envelope: Envelope; payload: unknown }[] = [];
      const realFetch = globalThis.fetch;
      globalThis.fetch = (input, init) => {
        if (init?.body) sent.push(JSON.parse(String(init.body)));
        return realFetch(input, init);
      };
      try {
        for (let i = 0; i < 3; i++) await a.router.send(alice, bob.id, { n: i });
      } finally {
        globalThis.fetch = realFetch;
      }
      const got = [];
      for (let i = 0; i < 3; i++) {
        got.push(await b.router.receive(bob.id, 1000, new AbortController().signal));
      }
      assertEquals(got.map((m) => (m!.payload as { n: number }).n), [0, 1, 2]);
      assertEquals(got.map((m) => m!.seq), [1, 2, 3]);
      // Bob moves from B to C; B wrote back what it accepted.
      await b.dir.sync();
      await b.unregister(bob);
      await c.register(bob);
      const [row] = await db.q(
        "agent",
        (s) => s`SELECT host_id, state FROM agents WHERE did = ${bob.id}`,
      );
      assertEquals([row.host_id, row.state], ["C", "running"]);
      // The captured envelope replayed to C: refused (and audited), not delivered.
      const replay = await c.router.deliver(sent[2].envelope, sent[2].payload);
      assertEquals(replay.ok, false);
      // An envelope sealed a minute before bob registered on C (fresh seq): refused too.
      const old = await sealEnvelope(
        alice,
        bob.id,
        { n: 99 },
        500,
        Date.now() - 60_000,
        (x) => crypto.getRandomValues(x),
      );
      const early = await c.router.deliver(old, { n: 99 });
      assertEquals(early, {
        ok: false,
        status: 403,
        reason: "sealed before the recipient registered on this host",
      });
      // A new send from a moved sender (a fresh directory on host D) is accepted on C.
      const d = await fleetHost(db, "D", []);
      await d.router.send(alice, bob.id, { n: 3 });
      const m = await c.router.receive(bob.id, 1000, new AbortController().signal);
      assertEquals((m!.payload as { n: number }).n, 3);
      assert(m!.seq > SEQ_BLOCK, `seq ${m!.seq} continues after A's block`);
      // Host C's lease expires: bob reads as offline, a send fails closed.
      await db.q(
        "expire",
        (s) => s`UPDATE hosts SET lease_expires = now() - interval '1 s' WHERE id = 'C'`,
      );
      const e = new FleetDirectory({ db, hostId: "E", agents: () => [] });
      assertEquals(await e.peerOf(bob.id), undefined);
      await d.peer.shutdown();
    } finally {
      for (const h of [a, b, c]) await h.peer.shutdown();
      await db.close();
    }
  },
});

Deno.test({
  name: "fleet directory: with the database down a sender fails closed once its block is used",
  ...opts,
  fn: async () => {
    const url = await freshDatabase();
    const db = connectFleetDb(url);
    await migrate(db);
    const dir = new FleetDirectory({ db, hostId: "A", agents: () => [] });
    const first = await dir.nextSeq("did:a", "did:b");
    await db.close();
    const seqs = [first];
    for (let i = 1; i < SEQ_BLOCK; i++) seqs.push(await dir.nextSeq("did:a", "did:b"));
    assertEquals(seqs, Array.from({ length: SEQ_BLOCK }, (_, i) => first + i));
    let err = "";
    await dir.nextSeq("did:a", "did:b").catch((e) => (err = e.message));
    assert(/message sequence block unavailable/.test(err), err);
  },
});

Deno.test({
  name: "fleet console: the fleet view lists hosts (lease, policy version, lag) and their agents",
  ...opts,
  fn: async () => {
    const chromiumPath = Deno.env.get("WARDEN_CHROMIUM") || "/usr/bin/chromium";
    try {
      Deno.statSync(chromiumPath);
    } catch {
      // deno-lint-ignore no-throw-literal
      throw `fleet console test: no Chromium at ${chromiumPath} (apt-get install chromium; .ci/run does)`;
    }
    const url = await freshDatabase();
    const db = connectFleetDb(url);
    await migrate(db);
    const dir = await Deno.makeTempDir();
    const host = new AgentHost({
      policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
      rings: loadRings(),
      auditPath: join(dir, "audit.jsonl"),
      signer: await new Keystore(join(dir, "keys")).signer("host"),
    });
    const token = "f".repeat(40);
    const app = controlPlane(host, {
      tokens: [{ token, name: "fleet-viewer", role: "viewer" }],
      approvals: new ApprovalQueue(host.governor),
      policyPaths: ["policies/agents.yaml"],
      consoleHtml: Deno.readTextFileSync("runtime/server/console.html"),
      fleet: fleetView(db, "A"),
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ["--no-sandbox", "--headless=new"],
    });
    try {
      const hosts = { A: ["alpha"], B: ["beta", "gamma"] } as Record<string, string[]>;
      for (const [id, names] of Object.entries(hosts)) {
        await db.q(
          "host",
          (s) =>
            s`INSERT INTO hosts (id, did, lease_expires, status) VALUES (${id}, ${`did:host:${id}`},
            now() + interval '1 minute',
            ${
              s.json({
                policy: { active: id === "A" ? 7 : 6 },
                audit: { lag: id === "A" ? 0 : 12 },
              })
            })`,
        );
        const d = new FleetDirectory({
          db,
          hostId: id,
          agents: () =>
            names.map((n) => ({ did: `did:key:z6Mk${n}`, name: n, ring: 2, labels: {} })),
        });
        await d.publish();
      }
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${server.addr.port}/#token=${token}`);
      await page.waitForSelector('#fleet-hosts tr[data-host="B"]', { timeout: 15_000 });
      const cells = async (
        sel: string,
      ) => (await page.$$eval(`${sel} td`, (tds) => tds.map((t) => t.textContent)));
      assertEquals(await cells('#fleet-hosts tr[data-host="A"]'), ["A", "live", "7", "0"]);
      assertEquals(await cells('#fleet-hosts tr[data-host="B"]'), ["B", "live", "6", "12"]);
      const agents = await page.$$eval(
        "#fleet-agents tbody tr",
        (trs) => trs.map((tr) => [tr.children[0].textContent, tr.children[2].textContent]),
      );
      assertEquals(agents, [["alpha", "A"], ["beta", "B"], ["gamma", "B"]]);
      // B's lease expires: its agents read as offline.
      await db.q(
        "expire",
        (s) => s`UPDATE hosts SET lease_expires = now() - interval '1 s' WHERE id = 'B'`,
      );
      await page.waitForSelector('#fleet-hosts tr[data-host="B"] td.bad', { timeout: 15_000 });
      assert(
        (await page.textContent('#fleet-agents tr[data-agent="beta"]'))!.includes("(offline)"),
      );
    } finally {
      await browser.close();
      await server.shutdown();
      await host.close();
      await db.close();
    }
  },
});
