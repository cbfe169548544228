/**
 * Governor.authorize, the one authorize step: every governed path (broker, SDK, MCP, messages,
 * sagas, plugin loading) has its audit entry committed by the governor, once, before it answers;
 * `require_approval` goes to the approval queue, whose verdict is audited with the approver; a
 * policy or an approval path that throws fails closed.
 */
import { join } from "node:path";
import { z } from "zod";
import { assert, assertEquals } from "../policy/asserts.ts";
import { type CompiledPolicy, compilePolicy } from "../../governance/mod.ts";
import { encodeFrame, FrameDecoder } from "../../sdk/frames.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { ApprovalQueue } from "../../runtime/approvals/queue.ts";
import { BrokerServer } from "../../runtime/broker/server.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { Gateway } from "../../runtime/gateway/gateway.ts";
import { type Ask, Governor } from "../../runtime/governor.ts";
import { MessageRouter } from "../../runtime/messages/router.ts";
import { loadPlugin } from "../../runtime/plugins/load.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { MemorySagaJournal } from "../../runtime/saga/journal.ts";
import { SagaOrchestrator } from "../../runtime/saga/orchestrator.ts";
import { NOTES, session } from "../mcp/helpers.ts";
import { saga } from "../saga/helpers.ts";
import { agentIn } from "./helpers.ts";

function governor(
  policy: CompiledPolicy = loadPolicy(["policies/agents.yaml"], { builtin: true }),
) {
  return new Governor(policy, loadRings(), new AuditLog());
}

/**
 * Watches AuditLog: each appended entry is pending until a commit made directly by the governor
 * (its caller frame is runtime/governor.ts) writes it. `clean()` at each answer: nothing pending,
 * and every governor commit wrote exactly one entry.
 */
function watchCommits() {
  const proto = AuditLog.prototype;
  const append = proto.append;
  const commit = proto.commit;
  let pending: string[] = [];
  const batches: string[][] = [];
  proto.append = function (this: AuditLog, fields) {
    const e = append.call(this, fields);
    pending.push(`${e.action} ${e.resource}`);
    return e;
  };
  proto.commit = function (this: AuditLog) {
    const caller = (new Error().stack ?? "").split("\n")[2] ?? "";
    if (caller.includes("/runtime/governor.ts") && pending.length > 0) {
      batches.push(pending);
      pending = [];
    }
    return commit.call(this);
  };
  return {
    clean(where: string): void {
      assertEquals(
        pending,
        [],
        `${where}: entries not committed by the governor before the answer`,
      );
      for (const b of batches) assertEquals(b.length, 1, `${where}: one commit per entry`);
    },
    committed: (): string[] => batches.flat(),
    restore(): void {
      proto.append = append;
      proto.commit = commit;
    },
  };
}

Deno.test("every governed path commits its entry through the governor, once, before answering", async () => {
  const spy = watchCommits();
  const dir = await Deno.makeTempDir();
  try {
    const agent = agentIn(dir);

    // Broker: one permission check, answered over its socket.
    {
      const g = governor();
      const path = join(dir, "b.sock");
      const broker = new BrokerServer({ path, agent, governor: g, pid: () => 1, bootstrap: [] });
      const conn = await Deno.connect({ transport: "unix", path });
      const line = { v: 1, pid: 1, id: 1, permission: "read", value: "/etc/shadow" };
      await conn.write(new TextEncoder().encode(JSON.stringify(line) + "\n"));
      const buf = new Uint8Array(4096);
      const n = await conn.read(buf);
      assert(n !== null && new TextDecoder().decode(buf.subarray(0, n)).includes('"id":1'));
      spy.clean("broker");
      conn.close();
      broker.close();
    }

    // SDK gateway: a tool call and a refused file read, answered as frames.
    {
      const g = governor();
      const tools = new ToolRegistry();
      tools.register("noop", { description: "", schema: z.object({}), run: () => "ok" });
      const path = join(dir, "s.sock");
      const gw = new Gateway({ path, agent, governor: g, tools, env: {} });
      const conn = await Deno.connect({ transport: "unix", path });
      const dec = new FrameDecoder(1 << 20);
      const buf = new Uint8Array(65536);
      for (
        const req of [
          { id: 1, op: "tool.call", name: "noop", args: {} },
          { id: 2, op: "fs.readText", path: "/etc/shadow" },
        ]
      ) {
        await conn.write(encodeFrame(req));
        let got = false;
        while (!got) {
          const n = await conn.read(buf);
          if (n === null) throw new Error("gateway closed");
          got = dec.push(buf.subarray(0, n)).some((ev) => ev.kind === "frame");
        }
        spy.clean(`sdk ${req.op}`);
      }
      assert(!g.audit.recent.some((e) => e.action === "sdk.invalid"), "both requests were valid");
      conn.close();
      gw.close();
    }

    // Messages: an envelope refused by the recipient's host, and one to nobody.
    {
      const g = governor();
      const router = new MessageRouter(g);
      router.register(agent);
      const bad = await router.deliver({ to: agent.id, from: "did:key:z6MkNobody" }, null);
      assertEquals(bad.ok, false);
      spy.clean("message refused");
      const lost = await router.deliver({ to: "did:key:z6MkElsewhere", from: agent.id }, null);
      assertEquals(lost.ok, false);
      spy.clean("message to nobody");
    }

    // Saga: each step is decided and on disk before the tool runs; the whole saga before run returns.
    {
      const g = governor(compilePolicy(
        "apiVersion: warden/v1\nkind: Policy\nname: t\ndefault: deny\nrules:\n" +
          "  - { id: tools, effect: allow, action: tool.call }\n",
      ));
      const orch = new SagaOrchestrator({
        journal: new MemorySagaJournal(),
        governor: g,
        execute: () => {
          spy.clean("saga step");
          return Promise.resolve(null);
        },
      });
      assertEquals((await orch.run(agent, saga(["a", "b"]))).status, "completed");
      spy.clean("saga");
    }

    // Plugin loading: decided as plugin.load before anything starts.
    {
      const g = governor();
      const refused = await loadPlugin({
        governor: g,
        tools: new ToolRegistry(),
        stateDir: dir,
        launch: () => Promise.reject(new Error("not launched in this test")),
      }, {
        name: "p",
        version: "1.0.0",
        publisher: "t",
        dir,
        entry: join(dir, "p.ts"),
        ring: 3,
        capabilities: {},
        tools: {},
      }).then(() => null, (e: Error) => e.message);
      assert(refused !== null);
      spy.clean("plugin.load");
    }

    const actions = spy.committed().map((c) => c.split(" ")[0]);
    for (const a of ["fs.read", "tool.call", "message.receive", "saga.start", "plugin.load"]) {
      assert(actions.includes(a), `${a} committed by the governor (got ${actions.join(", ")})`);
    }
  } finally {
    spy.restore();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the MCP gateway's decisions are committed by the governor before the client hears", async () => {
  const spy = watchCommits();
  try {
    const s = await session({ module: NOTES });
    try {
      await s.client.callTool({ name: "add_note", arguments: { text: "buy milk" } });
      spy.clean("mcp tools/call allowed");
      await s.client.callTool({ name: "delete_notes", arguments: {} });
      spy.clean("mcp tools/call denied");
      assert(spy.committed().some((c) => c.startsWith("tool.call delete_notes")));
    } finally {
      await s.close();
    }
  } finally {
    spy.restore();
  }
});

const APPROVAL = compilePolicy(
  "apiVersion: warden/v1\nkind: Policy\nname: t\ndefault: deny\nrules:\n" +
    "  - { id: held, effect: require_approval, action: tool.call, reason: a human decides }\n",
);
const ASK: Ask = { path: "sdk", action: "tool.call", resource: "pay", args: { amount: 5 } };

Deno.test("authorize hands require_approval to the queue; the approver is audited", async () => {
  const g = governor(APPROVAL);
  const q = new ApprovalQueue(g, 60_000);
  const agent = agentIn("/tmp");
  try {
    for (const [verdict, refused] of [["approved", null], ["denied", "denied"]] as const) {
      const asked = g.authorize(agent, ASK, { approvals: q.handler });
      while (q.list().length === 0) await new Promise((r) => setTimeout(r, 5));
      const [p] = q.list();
      assertEquals([p.action, p.resource, p.rule], ["tool.call", "pay", "held"]);
      assertEquals(q.decide(p.id, verdict, "alice", p.hash), "ok");
      const a = await asked;
      assertEquals(a.ruling.effect, "require_approval");
      assertEquals(a.refused?.code ?? null, refused);
      if (a.refused) assertEquals([a.refused.approval, a.refused.rule], ["denied", "held"]);
      const approval = g.audit.recent.at(-1)!;
      assertEquals([approval.action, approval.approver], ["approval", "alice"]);
      assertEquals(approval.effect, verdict === "approved" ? "allow" : "deny");
    }
    // Without a queue nothing waits: refused as approval_required, the rule's reason kept.
    const none = await g.authorize(agent, ASK);
    assertEquals(none.refused?.code, "approval_required");
    assertEquals(none.refused?.approval, "pending");
    assertEquals(none.refused?.rule, "held");
    assert(none.refused!.reason.includes("a human decides"), none.refused!.reason);
  } finally {
    q.close();
  }
});

Deno.test("a throwing policy or approval path fails closed, audited", async () => {
  const agent = agentIn("/tmp");
  const g = governor(APPROVAL);
  g.route({
    policyFor: () =>
      ({
        evaluate: () => {
          throw new Error("boom");
        },
      }) as unknown as CompiledPolicy,
    observe: () => {},
  });
  const a = await g.authorize(agent, ASK, { approvals: () => Promise.resolve("approved") });
  assertEquals([a.ruling.effect, a.refused?.code], ["deny", "denied"]);
  assert(a.refused!.reason.includes("fail closed"), a.refused!.reason);
  assertEquals(g.audit.recent.at(-1)?.effect, "deny");

  const h = governor(APPROVAL);
  const b = await h.authorize(agent, ASK, {
    approvals: () => Promise.reject(new Error("queue unreachable")),
  });
  assertEquals([b.refused?.code, b.refused?.approval], ["failed", "failed"]);
  assertEquals(b.refused?.reason, "queue unreachable");
  assertEquals(h.decide(agent, ASK).effect, "require_approval"); // the sync form never waits

  // A deny observer that throws changes nothing: the deny is still answered.
  const k = governor();
  k.onDeny(() => {
    throw new Error("observer broke");
  });
  const c = await k.authorize(agent, { path: "sdk", action: "fs.read", resource: "/etc/shadow" });
  assertEquals(c.refused?.code, "denied");
});

Deno.test("broker: nothing is answered before the host has placed the process (cgroup), and a failed placement answers nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const agent = agentIn(dir);
    const line = { v: 1, pid: 1, id: 7, permission: "read", value: join(dir, "x") };
    const ask = async (path: string) => {
      const conn = await Deno.connect({ transport: "unix", path });
      await conn.write(new TextEncoder().encode(JSON.stringify(line) + "\n"));
      return conn;
    };
    // Held: the check waits until placement resolves, then is answered.
    let place!: () => void;
    const held = new BrokerServer({
      path: join(dir, "h.sock"),
      agent,
      governor: governor(),
      pid: () => 1,
      bootstrap: [],
    });
    held.holdUntil(new Promise<void>((r) => (place = r)));
    const c1 = await ask(join(dir, "h.sock"));
    const buf = new Uint8Array(4096);
    let answered = false;
    const reading = c1.read(buf).then((n) => (answered = n !== null && n > 0));
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(answered, false, "answered before the process was placed");
    place();
    await reading;
    assert(answered && new TextDecoder().decode(buf).includes('"id":7'));
    c1.close();
    held.close();
    // Placement failed: the connection is closed without an answer (the agent never starts).
    const failed = new BrokerServer({
      path: join(dir, "f.sock"),
      agent,
      governor: governor(),
      pid: () => 1,
      bootstrap: [],
    });
    failed.holdUntil(Promise.reject(new Error("cgroup refused")));
    const c2 = await ask(join(dir, "f.sock"));
    assertEquals(await c2.read(buf), null);
    c2.close();
    failed.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
