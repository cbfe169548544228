/**
 * Invisible agents (issue 16 class 6): every live agent has its own identity, and is listed and
 * killable. With a keystore an identity is its name's key, so a second live agent under one
 * name is refused (the first stays listed and killable); a restart reuses the did.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { ApprovalQueue } from "../../runtime/approvals/queue.ts";
import { AgentHost } from "../../runtime/host.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { controlPlane } from "../../runtime/server/api.ts";

const IDLE = new URL("./agents/idle.ts", import.meta.url).pathname;
const ADMIN = "a".repeat(32);

function newHost(dir: string): AgentHost {
  return new AgentHost({
    policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
    rings: loadRings(),
    keystore: new Keystore(join(dir, "keys")),
    stateDir: join(dir, "state"),
  });
}

Deno.test("host API: a second live agent under one identity is refused; the first stays listed and killable", async () => {
  const dir = await Deno.makeTempDir();
  const host = newHost(dir);
  try {
    const first = await host.start({ module: IDLE });
    const msg = await host.start({ module: IDLE }).then(() => "started", (e) => e.message);
    if (!/^cannot start agent idle: .*already running as did:key:.*pick another name/.test(msg)) {
      throw new Error(msg);
    }
    // Concurrent starts race for the key: at most one wins (here none: "idle" is live).
    const racing = await Promise.allSettled([
      host.start({ module: IDLE, name: "twin" }),
      host.start({ module: IDLE, name: "twin" }),
      host.start({ module: IDLE, name: "twin" }),
    ]);
    assertEquals(racing.filter((r) => r.status === "fulfilled").length, 1);
    const ids = host.agents().map((h) => h.id);
    assertEquals(ids.length, 2);
    assertEquals(new Set(ids).size, 2);
    if (!ids.includes(first.id)) throw new Error("the first agent is not listed");
    for (const h of host.agents()) {
      assertEquals((await host.kill(h.id, "test over")).code, 137);
    }
    assertEquals(host.agents().length, 0);
    // Once it is gone, the name (and its did) can be used again.
    const again = await host.start({ module: IDLE });
    assertEquals(again.id, first.id);
    await again.kill("test over");
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HTTP API: two starts of one module give one listed, killable agent and a clear refusal", async () => {
  const dir = await Deno.makeTempDir();
  const host = newHost(dir);
  const approvals = new ApprovalQueue(host.governor);
  const app = controlPlane(host, {
    tokens: [{ token: ADMIN, name: "ada", role: "admin" }],
    approvals,
    policyPaths: ["policies/agents.yaml"],
  });
  const call = (method: string, path: string, body?: unknown) =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${ADMIN}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  try {
    const a = await call("POST", "/api/agents", { module: IDLE });
    assertEquals(a.status, 201);
    const { id } = await a.json();
    const b = await call("POST", "/api/agents", { module: IDLE });
    const err = (await b.json()).error as string;
    if (b.status < 400 || b.status >= 500 || !err.includes("pick another name")) {
      throw new Error(`${b.status} ${err}`);
    }
    const c = await call("POST", "/api/agents", { module: IDLE, name: "idle-2" });
    assertEquals(c.status, 201);
    const listed = (await (await call("GET", "/api/agents")).json()) as { id: string }[];
    assertEquals(listed.length, 2);
    if (!listed.some((x) => x.id === id)) throw new Error("the first agent is not listed");
    for (const x of listed) {
      const k = await call("POST", `/api/agents/${encodeURIComponent(x.id)}/kill`, {});
      assertEquals(k.status, 200);
      assertEquals((await k.json()).code, 137);
    }
    assertEquals((await (await call("GET", "/api/agents")).json()).length, 0);
  } finally {
    approvals.close();
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});
