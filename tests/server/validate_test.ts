/**
 * Issue 16 class 12: policy validation must not stall the host. Small YAML alias bombs (~600k
 * nodes each, under the parser's 1M cap) posted to `POST /api/policy/validate` while an agent's
 * permission check and another API request are made: those are answered first (ordering, not
 * timing), and each bomb is refused with its reason. Viewers may not validate.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { ApprovalQueue } from "../../runtime/approvals/queue.ts";
import { AgentHost } from "../../runtime/host.ts";
import type { AgentRef } from "../../runtime/governor.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { controlPlane } from "../../runtime/server/api.ts";
import { PolicyValidator } from "../../runtime/server/validate.ts";

/** 471 bytes that expand to ~600k condition nodes (8-way fan-out, 6 levels of aliases). */
function bomb(): string {
  let prev = "a";
  const defs = ["&a { args.n: { eq: 1 } }"];
  for (let i = 0; i < 6; i++) {
    defs.push(`&n${i} { any: [${Array(8).fill(`*${prev}`).join(", ")}] }`);
    prev = `n${i}`;
  }
  return `apiVersion: warden/v1\nkind: Policy\nname: bomb\nrules:\n  - id: r\n` +
    `    effect: allow\n    action: tool.call\n    when: { all: [${defs.join(", ")}] }\n`;
}

function setup() {
  const host = new AgentHost({
    policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
    rings: loadRings(),
  });
  const approvals = new ApprovalQueue(host.governor, 60_000);
  const app = controlPlane(host, {
    tokens: [
      { token: "v".repeat(32), name: "viv", role: "viewer" },
      { token: "o".repeat(32), name: "otto", role: "operator" },
    ],
    approvals,
    policyPaths: ["policies/agents.yaml"],
  });
  const call = (method: string, path: string, token: string, body?: unknown) =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return { host, call };
}

const AGENT: AgentRef = {
  id: "did:key:agent",
  name: "agent",
  ring: 2,
  trust: 500,
  labels: {},
  workspace: "/tmp/ws",
  code: "/tmp/code",
  sdk: "/tmp/sdk",
};

Deno.test("class 12: alias bombs do not delay decisions, and are refused with a reason", async () => {
  const { host, call } = setup();
  try {
    const order: string[] = [];
    const bombs = [1, 2, 3].map((i) =>
      Promise.resolve(
        call("POST", "/api/policy/validate", "o".repeat(32), { text: bomb(), path: `bomb${i}` }),
      ).then(async (r) => {
        order.push(`bomb${i}`);
        return [r.status, await r.json()] as const;
      })
    );
    // An agent's permission check and another API request, while the bombs are being handled.
    await new Promise((r) => setTimeout(r, 0));
    const ruling = host.governor.decide(AGENT, {
      action: "tool.call",
      resource: "noop",
      path: "sdk",
    });
    order.push("decision");
    const agents = await call("GET", "/api/agents", "v".repeat(32));
    assertEquals(agents.status, 200);
    await agents.body?.cancel();
    order.push("api");
    const results = await Promise.all(bombs);
    assertEquals(order.slice(0, 2), ["decision", "api"]);
    assertEquals(typeof ruling.effect, "string");
    for (const [status, body] of results) {
      assertEquals([status, body.ok], [200, false]);
      if (!/alias bomb\?\): refused/.test(body.problems?.[0] ?? "")) {
        throw new Error(JSON.stringify(body));
      }
    }
    // A sound policy still validates (with its rule count), and problems keep file:line:col.
    const good = await call("POST", "/api/policy/validate", "o".repeat(32), {
      text: await Deno.readTextFile("policies/agents.yaml"),
    });
    const g = await good.json();
    assertEquals([good.status, g.ok, g.rules > 0], [200, true, true]);
    const bad = await call("POST", "/api/policy/validate", "o".repeat(32), {
      text: "apiVersion: warden/v1\nkind: Policy\nname: x\nrules:\n  - id: r\n    effect: maybe\n",
      path: "bad.yaml",
    });
    const b = await bad.json();
    assertEquals(b.ok, false);
    if (!b.problems[0].startsWith("bad.yaml:6:")) throw new Error(JSON.stringify(b));
    // Validation is not a viewer action.
    const viewer = await call("POST", "/api/policy/validate", "v".repeat(32), { text: bomb() });
    assertEquals(viewer.status, 403);
    await viewer.body?.cancel();
  } finally {
    await host.close();
  }
});

Deno.test("class 12: a compilation past its deadline is ended and refused; a flood gets 429", async () => {
  // The deadline here is tiny on purpose, so that even a fast machine outlives it: what is
  // checked is that the worker is ended and the caller told why, not how long anything took.
  const v = new PolicyValidator({ deadlineMs: 1, maxQueue: 2 });
  const text = bomb();
  const slow = await Promise.all([
    v.validate(text, "a"),
    v.validate(text, "b"),
    v.validate(text, "c"),
  ]);
  assertEquals(slow.map((r) => r.ok), [false, false, false]);
  const third = slow[2];
  assertEquals("refused" in third && third.status, 429);
  for (const r of slow.slice(0, 2)) {
    const why = "refused" in r ? r.refused : "problems" in r ? r.problems[0] : "";
    if (!/did not finish within 1 ms: refused|alias bomb\?\): refused/.test(why)) {
      throw new Error(JSON.stringify(r));
    }
  }
  // After the flood the validator still works (a fresh worker).
  const ok = new PolicyValidator({ deadlineMs: 60_000 });
  const r = await ok.validate(await Deno.readTextFile("policies/agents.yaml"), "agents.yaml");
  assertEquals(r.ok, true);
  v.close();
  ok.close();
});

Deno.test("class 12: verifying a long audit log does not delay decisions", async () => {
  const dir = await Deno.makeTempDir();
  const host = new AgentHost({
    policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
    rings: loadRings(),
    auditPath: join(dir, "audit.jsonl"),
    signer: await new Keystore(join(dir, "keys")).signer("host"),
  });
  const app = controlPlane(host, {
    tokens: [{ token: "v".repeat(32), name: "viv", role: "viewer" }],
    approvals: new ApprovalQueue(host.governor, 60_000),
    policyPaths: ["policies/agents.yaml"],
  });
  try {
    for (let i = 0; i < 20_000; i++) {
      host.governor.record(AGENT, { action: "tool.call", resource: "noop", path: "sdk" }, {
        effect: "allow",
        rule: "r",
        reason: "filler",
      });
    }
    await host.audit.flush();
    const order: string[] = [];
    const headers = { authorization: `Bearer ${"v".repeat(32)}` };
    const verify = Promise.resolve(app.request("/api/audit/verify", { headers })).then(
      async (r) => {
        order.push("verify");
        return await r.json();
      },
    );
    await new Promise((r) => setTimeout(r, 0));
    host.governor.decide(AGENT, { action: "tool.call", resource: "noop", path: "sdk" });
    order.push("decision");
    const v = await verify;
    assertEquals(order, ["decision", "verify"]);
    assertEquals([v.ok, v.entries > 20_000], [true, true]);
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});
