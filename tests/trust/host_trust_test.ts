/** Trust in the host: demotion of a running agent (with restart), revocation, persistence. */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { AgentHost } from "../../runtime/host.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { registerBuiltinTools } from "../../runtime/executors/builtin_tools.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { TrustService } from "../../runtime/trust/service.ts";

const agent = (n: string) => new URL(`./agents/${n}.ts`, import.meta.url).pathname;
const newHost = (dir: string, trust: TrustService) =>
  new AgentHost({
    policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
    rings: loadRings(),
    keystore: new Keystore(join(dir, "keys")),
    trust,
    tools: registerBuiltinTools(new ToolRegistry()),
  });

Deno.test("a critical violation demotes a running agent at once: ring 2 -> 3, restarted with the lower ceiling", async () => {
  const dir = await Deno.makeTempDir();
  const ws = join(dir, "ws");
  await Deno.mkdir(ws);
  await Deno.writeTextFile(join(ws, "notes.txt"), "notes");
  await Deno.writeTextFile(join(ws, "id_rsa"), "-----BEGIN KEY-----");
  const trust = new TrustService(join(dir, "trust.json"));
  const host = newHost(dir, trust);
  try {
    const first = await host.start({ module: agent("careless"), name: "careless", workspace: ws });
    await first.exited;
    for (let i = 0; i < 100 && !first.replacedBy; i++) await new Promise((r) => setTimeout(r, 20));
    const second = first.replacedBy;
    if (!second) throw new Error("agent was not restarted");
    await second.exited;
    assertEquals([second.ref.ring, second.id], [3, first.id]);
    const log = host.audit.recent.filter((e) => e.agent.id === first.id);
    const line = (e: (typeof log)[number]) =>
      `${e.agent.ring} ${e.action} ${e.resource.split("/").pop()} ${e.effect}`;
    const seen = log.map(line);
    for (
      const want of [
        "2 fs.read notes.txt allow",
        "2 fs.read id_rsa deny",
        "3 agent.ring 3 deny",
        "3 fs.read notes.txt deny",
      ]
    ) {
      if (!seen.includes(want)) throw new Error(`missing "${want}" in\n${seen.join("\n")}`);
    }
    const demote = log.find((e) => e.action === "agent.ring")!;
    if (!/^trust: ring 2 -> 3 \(trust 65\d -> 40\d\)$/.test(demote.reason)) {
      throw new Error(demote.reason);
    }
    const ceiling = log.find((e) =>
      e.agent.ring === 3 && e.action === "fs.read" && e.effect === "deny"
    )!;
    if (!ceiling.reason.startsWith("ring ceiling: ring 3")) throw new Error(ceiling.reason);
  } finally {
    await host.close();
    trust.save();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("below the revoke threshold an agent is killed, and it cannot start again; trust survives restarts", async () => {
  const dir = await Deno.makeTempDir();
  const storePath = join(dir, "trust.json");
  const did = (await new Keystore(join(dir, "keys")).signer("agent-wrecker")).did;
  const trust = new TrustService(storePath);
  trust.set(did, 320); // probationary
  const host = newHost(dir, trust);
  try {
    const h = await host.start({ module: agent("wrecker"), name: "wrecker", ring: 3 });
    const exit = await h.exited;
    assertEquals(exit.code, 137);
    if (!/^trust revoked: score 7\d < 100$/.test(String(exit.killed))) {
      throw new Error(String(exit.killed));
    }
  } finally {
    await host.close();
    trust.save();
  }
  const reloaded = new TrustService(storePath);
  const score = reloaded.score(did);
  if (!(score < 100)) throw new Error(`score after reload: ${score}`); // the kill itself also counted
  const again = newHost(dir, reloaded);
  try {
    const msg = await again.start({ module: agent("wrecker"), name: "wrecker", ring: 3 }).then(
      () => "started",
      (e) => e.message,
    );
    if (!msg.startsWith("cannot start agent wrecker: trust revoked")) throw new Error(msg);
  } finally {
    await again.close();
    await Deno.remove(dir, { recursive: true });
  }
});

const plainHost = () =>
  new AgentHost({
    policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
    rings: loadRings(),
    tools: registerBuiltinTools(new ToolRegistry()),
  });

Deno.test("trust runs in every host: without a trust option critical violations demote, then kill", async () => {
  const dir = await Deno.makeTempDir();
  const ws = join(dir, "ws");
  await Deno.mkdir(ws);
  await Deno.writeTextFile(join(ws, "notes.txt"), "notes");
  await Deno.writeTextFile(join(ws, "id_rsa"), "-----BEGIN KEY-----");
  const host = plainHost();
  try {
    const first = await host.start({ module: agent("careless"), workspace: ws });
    await first.exited;
    const second = await first.next;
    if (!second) throw new Error("the careless agent was not demoted and restarted");
    assertEquals([second.ref.ring, second.id], [3, first.id]);
    await second.exited;
    const h = await host.start({ module: agent("reckless"), ring: 3 });
    const exit = await h.exited;
    assertEquals(exit.code, 137);
    if (!/^trust revoked: score \d+ < 100$/.test(String(exit.killed))) {
      throw new Error(String(exit.killed));
    }
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a persisted probationary score caps the ring at the next start (audited)", async () => {
  const dir = await Deno.makeTempDir();
  const storePath = join(dir, "trust.json");
  const did = (await new Keystore(join(dir, "keys")).signer("agent-careless")).did;
  const seed = new TrustService(storePath);
  seed.set(did, 450);
  seed.save();
  const host = newHost(dir, new TrustService(storePath));
  try {
    const h = await host.start({ module: agent("careless"), name: "careless", ring: 2 });
    assertEquals([h.id, h.ref.ring], [did, 3]);
    await h.exited;
    const start = host.audit.recent.find((e) => e.agent.id === did && e.action === "agent.start")!;
    if (!start.reason.includes("asked ring 2, trust 450 (probationary) caps it at 3")) {
      throw new Error(start.reason);
    }
    assertEquals(start.agent.ring, 3);
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});
