/** Signed messages end to end: agents on one host, agents on two hosts over loopback HTTP. */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { sealEnvelope } from "../../governance/identity/mod.ts";
import { AgentHost } from "../../runtime/host.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { compilePolicySet } from "../../governance/mod.ts";

const agent = (n: string) => new URL(`./agents/${n}.ts`, import.meta.url).pathname;
/** The real randomness, injected into the pure envelope sealing. */
const random = (b: Uint8Array) => crypto.getRandomValues(b);

function hostWith(keystore: Keystore, extraPolicy = "") {
  const base = loadPolicy(["policies/agents.yaml"], { builtin: true });
  const policy = extraPolicy
    ? compilePolicySet([
      { path: "policies/agents.yaml", text: Deno.readTextFileSync("policies/agents.yaml") },
      { path: "builtin.yaml", text: Deno.readTextFileSync("runtime/policy/builtin.yaml") },
      { path: "extra.yaml", text: extraPolicy },
    ])
    : base;
  return new AgentHost({ policy, rings: loadRings(), keystore });
}

async function output(h: { process: Deno.ChildProcess; exited: Promise<unknown> }) {
  const [out, err] = await Promise.all([
    new Response(h.process.stdout).text(),
    new Response(h.process.stderr).text(),
    h.exited,
  ]);
  return { out, err };
}

Deno.test("two agents on one host: signed delivery, verified sender, policy decides who may talk to whom", async () => {
  const dir = await Deno.makeTempDir();
  const ks = new Keystore(join(dir, "keys"));
  const receiverDid = (await ks.signer("agent-receiver")).did;
  const strangerDid = (await ks.signer("agent-stranger")).did;
  const host = hostWith(
    ks,
    `apiVersion: warden/v1
kind: Policy
name: no-strangers
rules:
  - { id: no-strangers, effect: deny, action: message.send, resource: "${strangerDid}" }
`,
  );
  try {
    const recv = await host.start({
      module: agent("receiver"),
      name: "receiver",
      env: { WARDEN_TASK: JSON.stringify({ count: 3 }) },
    });
    const send = await host.start({
      module: agent("sender"),
      name: "sender",
      env: { WARDEN_TASK: JSON.stringify({ to: receiverDid, count: 3, blocked: strangerDid }) },
    });
    const [r, s] = await Promise.all([output(recv), output(send)]);
    const got = r.out.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(got.map((m) => m.payload.i), [0, 1, 2], r.err + s.err);
    assertEquals(got.every((m) => m.from === send.id), true);
    if (!s.out.includes("blocked denied no-strangers")) throw new Error(s.out + s.err);
    const audit = host.audit.recent;
    assertEquals(
      audit.filter((e) =>
        e.action === "message.receive" && e.path === "host" && e.effect === "allow"
      ).length,
      3,
    );
    if (
      !audit.some((e) =>
        e.action === "message.send" && e.effect === "deny" && e.rule === "no-strangers"
      )
    ) {
      throw new Error("denied send not audited");
    }
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two hosts on loopback: messages cross over HTTP; replays, tampering, stale and out-of-window messages are refused and audited", async () => {
  const dir = await Deno.makeTempDir();
  const ksA = new Keystore(join(dir, "a")), ksB = new Keystore(join(dir, "b"));
  const receiverDid = (await ksB.signer("agent-receiver")).did;
  const hostA = hostWith(ksA), hostB = hostWith(ksB);
  const peer = hostB.servePeer();
  hostA.messages.addPeer(peer.url);
  try {
    const recv = await hostB.start({
      module: agent("receiver"),
      name: "receiver",
      env: { WARDEN_TASK: JSON.stringify({ count: 2 }) },
    });
    const send = await hostA.start({
      module: agent("sender"),
      name: "sender",
      env: { WARDEN_TASK: JSON.stringify({ to: receiverDid, count: 2 }) },
    });
    const [r, s] = await Promise.all([output(recv), output(send)]);
    const got = r.out.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(
      got.map((m) => [m.payload.i, m.from]),
      [[0, send.id], [1, send.id]],
      r.err + s.err,
    );

    // An attacker on the wire replays and tampers with what it saw (a fresh genuine envelope here).
    const rx = await hostB.start({
      module: agent("receiver"),
      name: "receiver",
      env: { WARDEN_TASK: JSON.stringify({ count: 1 }) },
    });
    const signer = await ksA.signer("agent-sender");
    const post = (body: unknown) =>
      fetch(`${peer.url}/warden/v1/messages`, { method: "POST", body: JSON.stringify(body) }).then(
        async (res) => [res.status, (await res.json()).error ?? "ok"],
      );
    const payload = { i: 7 };
    const env = await sealEnvelope(signer, receiverDid, payload, 3, Date.now(), random);
    assertEquals(await post({ envelope: env, payload }), [202, "ok"]);
    assertEquals(await post({ envelope: env, payload }), [403, "replayed nonce"]);
    const t = await sealEnvelope(signer, receiverDid, payload, 4, Date.now(), random);
    assertEquals(await post({ envelope: t, payload: { i: 8 } }), [403, "tampered payload"]);
    const stale = await sealEnvelope(
      signer,
      receiverDid,
      payload,
      4,
      Date.now() - 3_600_000,
      random,
    );
    assertEquals(await post({ envelope: stale, payload }), [403, "stale timestamp"]);
    const far = await sealEnvelope(signer, receiverDid, payload, 100_000, Date.now(), random);
    assertEquals(await post({ envelope: far, payload }), [403, "sequence out of window"]);
    const elsewhere = await sealEnvelope(signer, signer.did, payload, 1, Date.now(), random);
    assertEquals(await post({ envelope: elsewhere, payload }), [404, "unknown recipient"]);
    assertEquals(await post({ nope: 1 }), [400, "malformed request"]);
    const rr = await output(rx);
    assertEquals(JSON.parse(rr.out.trim()).payload, payload);
    const refused = hostB.audit.recent.filter((e) =>
      e.action === "message.receive" && e.effect === "deny"
    ).map((e) => e.reason);
    for (
      const why of [
        "replayed nonce",
        "tampered payload",
        "stale timestamp",
        "sequence out of window",
        "unknown recipient",
      ]
    ) {
      if (!refused.some((r) => r.includes(why))) {
        throw new Error(`not audited: ${why} (${refused.join("; ")})`);
      }
    }
  } finally {
    await hostA.close();
    await hostB.close();
    await Deno.remove(dir, { recursive: true });
  }
});
