/**
 * Issue 16 class 11: an approver sees exactly what they approve — the canonical arguments,
 * redacted where the deciding rule marks a field secret (`redact:`) — and the decision carries
 * the hash it is bound to (none: 400, a different one: 409). API and `deno task approvals`.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { canonicalJson } from "../../governance/audit/mod.ts";
import { ApprovalQueue, redactRequest, requestHash } from "../../runtime/approvals/queue.ts";
import { registerBuiltinTools } from "../../runtime/executors/builtin_tools.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { controlPlane } from "../../runtime/server/api.ts";
import { runDeno } from "../cli/run.ts";
import { z } from "zod";

const AGENTS = new URL("./agents/", import.meta.url).pathname;
const TOKEN = "o".repeat(32);
/** secret_asker's target: a right-to-left override and an ANSI erase-line inside. */
const TARGET = "prod\u202egnp.exe\u001b[2K";

async function setup() {
  const dir = await Deno.makeTempDir();
  const text = (await Deno.readTextFile("policies/agents.yaml")).replace(
    "  - id: shell-needs-approval\n",
    "  - id: deploy-needs-approval\n    effect: require_approval\n    action: tool.call\n" +
      "    resource: deploy\n    reason: deploys need a human\n    redact: [args.password]\n" +
      "  - id: shell-needs-approval\n",
  );
  if (!text.includes("redact:")) throw new Error("policies/agents.yaml changed: fix this test");
  const tools = registerBuiltinTools(new ToolRegistry());
  tools.register("deploy", {
    description: "deploy (test)",
    schema: z.strictObject({ target: z.string(), password: z.string() }),
    run: ({ target }) => Promise.resolve({ deployed: target }),
  });
  await Deno.writeTextFile(join(dir, "agents.yaml"), text);
  const host = new AgentHost({
    policy: loadPolicy([join(dir, "agents.yaml")], { builtin: true }),
    rings: loadRings(),
    tools,
    stateDir: join(dir, "state"),
  });
  const approvals = new ApprovalQueue(host.governor, 60_000);
  host.setApprovalHandler(approvals.handler);
  const app = controlPlane(host, {
    tokens: [{ token: TOKEN, name: "otto", role: "operator" }],
    approvals,
    policyPaths: [join(dir, "agents.yaml")],
    agentRoots: [AGENTS],
  });
  const call = (method: string, path: string, body?: unknown) =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const parked = async () => {
    for (let i = 0; i < 300 && approvals.list().length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return await (await call("GET", "/api/approvals")).json();
  };
  return { dir, host, approvals, app, call, parked };
}

Deno.test("class 11: the API shows the canonical, redacted arguments, bound to the hash", async () => {
  const { dir, host, call, parked } = await setup();
  try {
    const h = await host.start({ module: join(AGENTS, "secret_asker.ts"), name: "secret" });
    const out = new Response(h.process.stdout).text();
    const pending = await parked();
    assertEquals(pending.length, 1);
    const p = pending[0];
    assertEquals(p.args, { password: "[redacted]", target: TARGET });
    assertEquals(p.redacted, ["args.password"]);
    assertEquals(p.canonical, canonicalJson(p.request));
    // The hash is over exactly the canonical text shown (the secret replaced by its marker).
    assertEquals(requestHash(JSON.parse(p.canonical)), p.hash);
    assertEquals(p.request.args, p.args);
    assertEquals([p.request.action, p.request.resource], ["tool.call", "deploy"]);
    // Nothing the approver or an observer reads holds the secret.
    const seen = JSON.stringify(pending) + JSON.stringify(host.audit.recent);
    assertEquals(seen.includes("hunter2"), false);
    // The decision must carry the hash: none is refused, a different one is a conflict.
    const none = await call("POST", `/api/approvals/${p.id}/approve`, {});
    assertEquals(none.status, 400);
    await none.body?.cancel();
    const other = await call("POST", `/api/approvals/${p.id}/approve`, { hash: "0".repeat(64) });
    assertEquals(other.status, 409);
    await other.body?.cancel();
    const unknown = await call("POST", `/api/approvals/nope/approve`, { hash: p.hash });
    assertEquals(unknown.status, 404);
    await unknown.body?.cancel();
    const ok = await call("POST", `/api/approvals/${p.id}/approve`, { hash: p.hash });
    assertEquals(ok.status, 200);
    await ok.body?.cancel();
    assertEquals(JSON.parse((await out).trim()).ok, true);
    await h.exited;
    const entry = host.audit.recent.find((e) => e.action === "approval");
    assertEquals([entry?.effect, entry?.requestHash], ["allow", p.hash]);
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("class 11: without redaction the canonical text is exactly what the hash is over", async () => {
  const { dir, host, approvals, parked } = await setup();
  try {
    const h = await host.start({ module: join(AGENTS, "asker.ts"), name: "asker" });
    const pending = await parked();
    assertEquals(pending[0].args, { command: "echo approved" });
    assertEquals(pending[0].redacted, []);
    const hex = requestHash(JSON.parse(pending[0].canonical));
    assertEquals(hex, pending[0].hash);
    approvals.decide(pending[0].id, "denied", "test", pending[0].hash);
    await h.exited;
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "class 11: deno task approvals lists the arguments and approves with the hash it showed",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { dir, host, app, parked } = await setup();
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    try {
      const h = await host.start({ module: join(AGENTS, "secret_asker.ts"), name: "secret" });
      const out = new Response(h.process.stdout).text();
      const [p] = await parked();
      const env = { WARDEN_API: `http://127.0.0.1:${server.addr.port}`, WARDEN_TOKEN: TOKEN };
      const list = await runDeno(["task", "-q", "approvals", "list"], undefined, env);
      assertEquals(list.code, 0);
      for (
        const want of [
          p.id,
          `args: {"password":"[redacted]","target":"prod\\u{202e}gnp.exe\\u001b[2K"}`,
          p.hash,
        ]
      ) {
        if (!list.stdout.includes(want)) throw new Error(`missing ${want} in:\n${list.stdout}`);
      }
      assertEquals(list.stdout.includes("hunter2"), false);
      // Nothing the agent chose reaches the terminal as a control or direction character.
      assertEquals([list.stdout.includes("\u001b"), list.stdout.includes("\u202e")], [
        false,
        false,
      ]);
      // A hash that is not the parked request's: refused, nothing approved.
      const wrong = await runDeno(
        ["task", "-q", "approvals", "approve", p.id, "--hash", "0".repeat(64)],
        undefined,
        env,
      );
      assertEquals(wrong.code, 1);
      if (!wrong.stderr.includes("409")) throw new Error(wrong.stderr);
      assertEquals(host.audit.recent.some((e) => e.action === "approval"), false);
      const ok = await runDeno(
        ["task", "-q", "approvals", "approve", p.id, "--hash", p.hash],
        undefined,
        env,
      );
      assertEquals(ok.code, 0, ok.stderr);
      if (!ok.stdout.includes(`approved ${p.id}`) || !ok.stdout.includes('"target":"prod')) {
        throw new Error(ok.stdout);
      }
      assertEquals(JSON.parse((await out).trim()).ok, true);
      await h.exited;
    } finally {
      await server.shutdown();
      await host.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("class 11: redaction paths, and a deciding rule the live policy does not hold", async () => {
  const host = new AgentHost({
    policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
    rings: loadRings(),
  });
  const q = new ApprovalQueue(host.governor, 60_000);
  try {
    const r = redactRequest({ args: { auth: { user: "u", token: "t" }, n: [1, { k: 2 }] } }, [
      "args.auth.*",
      "args.n.1.k",
      "args.missing",
    ]);
    assertEquals(r.shown, {
      args: { auth: { user: "[redacted]", token: "[redacted]" }, n: [1, { k: "[redacted]" }] },
    });
    assertEquals(r.redacted, ["args.auth.*", "args.n.1.k"]);
    const agent = {
      id: "did:key:x",
      name: "x",
      ring: 2,
      trust: 500,
      labels: {},
      workspace: "/w",
      code: "/c",
      sdk: "/s",
    };
    const request = { action: "tool.call", resource: "deploy", args: { password: "p", a: 1 } };
    const ghost = q.park(agent, request, {
      effect: "require_approval",
      rule: "not-in-the-live-policy",
      reason: "r",
      seq: 0,
    });
    const open = q.park(agent, request, {
      effect: "require_approval",
      rule: null,
      reason: "r",
      seq: 0,
    });
    const [g, o] = q.list();
    // A rule the live policy does not hold cannot say what is secret: every argument is hidden.
    assertEquals(g.args, { a: "[redacted]", password: "[redacted]" });
    // No rule (a policy default) marks nothing secret.
    assertEquals(o.args, { a: 1, password: "p" });
    assertEquals(q.decide(g.id, "denied", "t", o.hash), "mismatch");
    assertEquals(q.decide(g.id, "denied", "t", g.hash), "ok");
    assertEquals(q.decide(o.id, "denied", "t", o.hash), "ok");
    assertEquals([await ghost, await open], ["denied", "denied"]);
  } finally {
    q.close();
    await host.close();
  }
});
