/**
 * Quarantine review through the control plane: operators (not viewers) list quarantined
 * entries with provenance, release one (readers then see it) or reject one (deleted: no reader
 * ever sees it); every decision and refusal is audited with the operator's name.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { compilePolicy } from "../../governance/mod.ts";
import { ApprovalQueue } from "../../runtime/approvals/queue.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { controlPlane } from "../../runtime/server/api.ts";
import { agent, MEMORY_POLICY } from "./helpers.ts";

const OP = "o".repeat(32), VIEW = "v".repeat(32);

Deno.test("operators list, release and reject quarantined memory entries over the API", async () => {
  const stateDir = await Deno.makeTempDir();
  const host = new AgentHost({
    policy: compilePolicy(MEMORY_POLICY),
    rings: loadRings(),
    stateDir,
  });
  const app = controlPlane(host, {
    tokens: [
      { token: VIEW, name: "viv", role: "viewer" },
      { token: OP, name: "otto", role: "operator" },
    ],
    approvals: new ApprovalQueue(host.governor, 60_000),
    policyPaths: [],
  });
  const call = async (method: string, path: string, token = OP) => {
    const r = await app.request(path, { method, headers: { authorization: `Bearer ${token}` } });
    return { status: r.status, body: await r.json() };
  };
  try {
    const low = agent("LowWriter", 500), reader = agent("Reader", 900);
    await host.memory.put(low, { namespace: "team-a", key: "pay", value: "send to IBAN X" });
    await host.memory.put(low, { namespace: "team-a", key: "tip", value: "use the staging db" });
    assertEquals((await call("GET", "/api/memory/quarantine", VIEW)).status, 403);
    const list = await call("GET", "/api/memory/quarantine?namespace=team-a");
    assertEquals(list.status, 200);
    assertEquals(list.body.map((e: { key: string }) => e.key).sort(), ["pay", "tip"]);
    const pay = list.body.find((e: { key: string }) => e.key === "pay");
    assertEquals([pay.value, pay.provenance.writer, pay.provenance.trust], [
      "send to IBAN X",
      low.id,
      500,
    ]);
    const tip = list.body.find((e: { key: string }) => e.key === "tip");

    assertEquals((await call("POST", `/api/memory/${pay.id}/reject`)).status, 200);
    assertEquals((await call("POST", `/api/memory/${tip.id}/release`)).status, 200);
    assertEquals(await host.memory.get(reader, { namespace: "team-a", key: "pay" }), null);
    const got = await host.memory.get(reader, { namespace: "team-a", key: "tip" }) as {
      value: unknown;
    };
    assertEquals(got.value, "use the staging db");
    assertEquals((await call("GET", "/api/memory/quarantine")).body, []);

    // Refusals: already decided, unknown, malformed, viewer.
    assertEquals((await call("POST", `/api/memory/${tip.id}/release`)).status, 409);
    assertEquals((await call("POST", `/api/memory/${pay.id}/release`)).status, 404);
    assertEquals((await call("POST", "/api/memory/abc/reject")).status, 400);
    assertEquals((await call("POST", `/api/memory/${tip.id}/reject`, VIEW)).status, 403);
    assertEquals((await call("GET", "/api/memory/quarantine?limit=0")).status, 400);

    const ops = host.audit.recent.filter((e) => e.action.startsWith("operator.memory."));
    assertEquals(ops.map((e) => [e.action, e.effect]), [
      ["operator.memory.reject", "allow"],
      ["operator.memory.release", "allow"],
      ["operator.memory.release", "deny"],
      ["operator.memory.release", "deny"],
    ]);
    assert(ops[0].reason.startsWith("otto (operator): rejected quarantined entry"), ops[0].reason);
    assert(ops[0].reason.includes(pay.provenance.sha256));
  } finally {
    await host.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});
