/** The control plane: auth, roles, validation, limits, approvals, audit, metrics. */
import { assertEquals } from "../policy/asserts.ts";
import { ApprovalQueue } from "../../runtime/approvals/queue.ts";
import { registerBuiltinTools } from "../../runtime/executors/builtin_tools.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { controlPlane } from "../../runtime/server/api.ts";

const ASKER = new URL("./agents/asker.ts", import.meta.url).pathname;

function setup(timeoutMs = 60_000) {
  const host = new AgentHost({
    policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
    rings: loadRings(),
    tools: registerBuiltinTools(new ToolRegistry()),
  });
  const approvals = new ApprovalQueue(host.governor, timeoutMs);
  host.setApprovalHandler(approvals.handler);
  const app = controlPlane(host, {
    tokens: [
      { token: "v".repeat(32), name: "viv", role: "viewer" },
      { token: "o".repeat(32), name: "otto", role: "operator" },
      { token: "a".repeat(32), name: "ada", role: "admin" },
    ],
    approvals,
    policyPaths: ["policies/agents.yaml"],
    agentRoots: [new URL("./agents/", import.meta.url).pathname],
  });
  const call = (method: string, path: string, token?: string, body?: string) =>
    app.request(path, { method, headers: token ? { authorization: `Bearer ${token}` } : {}, body });
  return { host, approvals, call };
}

Deno.test("unauthenticated, wrong-role, malformed and oversized requests are refused", async () => {
  const { host, call } = setup();
  try {
    assertEquals((await call("GET", "/api/agents")).status, 401);
    assertEquals((await call("GET", "/api/agents", "wrong-token")).status, 401);
    assertEquals((await call("GET", "/api/agents", "v".repeat(32))).status, 200);
    const r = await call("POST", "/api/agents", "v".repeat(32), "{}");
    assertEquals([r.status, (await r.json()).error], [
      403,
      "the viewer role may not do this (needs operator)",
    ]);
    assertEquals((await call("POST", "/api/policy/reload", "o".repeat(32))).status, 403);
    const bad = await call("POST", "/api/agents", "o".repeat(32), "{not json");
    assertEquals([bad.status, (await bad.json()).error], [400, "malformed JSON body"]);
    const shape = await call(
      "POST",
      "/api/agents",
      "o".repeat(32),
      JSON.stringify({ module: "x.ts", ring: 9 }),
    );
    assertEquals(shape.status, 400);
    const big = await call(
      "POST",
      "/api/agents",
      "o".repeat(32),
      JSON.stringify({ module: "x".repeat(100_000) }),
    );
    assertEquals(big.status, 413);
    assertEquals((await call("GET", "/api/audit?effect=maybe", "v".repeat(32))).status, 400);
  } finally {
    await host.close();
  }
});

Deno.test("approval flow over the API: parked, bound to the exact action, approved, audited with the approver", async () => {
  const { host, approvals, call } = setup();
  try {
    const start = await call(
      "POST",
      "/api/agents",
      "o".repeat(32),
      JSON.stringify({ module: ASKER, name: "asker" }),
    );
    assertEquals(start.status, 201);
    const { id } = await start.json();
    for (let i = 0; i < 200 && approvals.list().length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const pending = await (await call("GET", "/api/approvals", "o".repeat(32))).json();
    assertEquals(pending.length, 1);
    assertEquals([pending[0].action, pending[0].resource, pending[0].rule], [
      "tool.call",
      "shell",
      "shell-needs-approval",
    ]);
    const wrongHash = await call(
      "POST",
      `/api/approvals/${pending[0].id}/approve`,
      "o".repeat(32),
      JSON.stringify({ hash: "0".repeat(64) }),
    );
    assertEquals(wrongHash.status, 409);
    assertEquals(
      (await call("POST", `/api/approvals/${pending[0].id}/approve`, "v".repeat(32), "{}")).status,
      403,
    );
    const ok = await call(
      "POST",
      `/api/approvals/${pending[0].id}/approve`,
      "o".repeat(32),
      JSON.stringify({ hash: pending[0].hash }),
    );
    assertEquals(ok.status, 200);
    const h = host.get(id)!;
    await h.exited;
    const entry = host.audit.recent.find((e) => e.action === "approval");
    assertEquals([entry?.effect, entry?.approver], ["allow", "otto"]);
    const started = host.audit.recent.find((e) => e.action === "operator.start");
    if (!started?.reason.startsWith("otto (operator): started asker")) {
      throw new Error(JSON.stringify(started));
    }
  } finally {
    await host.close();
  }
});

Deno.test("an approval times out to deny", async () => {
  const { host, approvals } = setup(100);
  try {
    const h = await host.start({ module: ASKER, name: "asker" });
    const [out] = await Promise.all([new Response(h.process.stdout).text(), h.exited]);
    assertEquals(JSON.parse(out.trim()), { ok: false, code: "denied" });
    assertEquals(approvals.list().length, 0);
    const entry = host.audit.recent.find((e) => e.action === "approval");
    assertEquals([entry?.effect, entry?.approver], ["deny", "timeout"]);
  } finally {
    await host.close();
  }
});

Deno.test("kill, audit query, verify, metrics and the live decision stream", async () => {
  const { host, call } = setup();
  try {
    const stream = await call("GET", "/api/audit/stream", "v".repeat(32));
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    const h = await host.start({ module: ASKER, name: "asker" });
    let got = "";
    while (!got.includes("event: decision")) got += (await reader.read()).value ?? "";
    await reader.cancel();
    const killed = await call(
      "POST",
      `/api/agents/${h.id}/kill`,
      "o".repeat(32),
      JSON.stringify({ reason: "test" }),
    );
    assertEquals([killed.status, (await killed.json()).code], [200, 137]);
    const q = await (await call("GET", "/api/audit?action=agent.kill", "v".repeat(32))).json();
    assertEquals(q.length, 1);
    const metrics = await (await call("GET", "/metrics", "v".repeat(32))).text();
    if (
      !metrics.includes("warden_audit_entries ") ||
      !metrics.includes("# TYPE warden_agents_running gauge")
    ) throw new Error(metrics);
    const verify = await (await call("GET", "/api/audit/verify", "v".repeat(32))).json();
    assertEquals(verify.ok, false); // an in-memory log cannot be verified from a file
  } finally {
    await host.close();
  }
});
