/**
 * Ring changes re-apply the ceiling (issue 16 class 9): one `setRing` in the host, used by the
 * API, trust and SLO demotion, restarts the agent under the new ring's Deno flags and kernel
 * rules. Checked from inside the agent: after 3 -> 2 a workspace read succeeds (the old
 * process's kernel rules would refuse it even though the broker allows), after 2 -> 3 it fails
 * and Deno's own flags no longer grant it.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { ApprovalQueue } from "../../runtime/approvals/queue.ts";
import { type AgentHandle, AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { controlPlane } from "../../runtime/server/api.ts";
import { pipeLines } from "../../runtime/supervisor/output.ts";

const READER = new URL("./agents/reader.ts", import.meta.url).pathname;
const ADMIN = "a".repeat(32);

interface Line {
  pid: number;
  flag: string;
  read: string;
}

/** Collect an agent's report lines, following it through restarts. */
function follow(first: AgentHandle): Line[] {
  const lines: Line[] = [];
  (async () => {
    let h: AgentHandle | null = first;
    while (h) {
      await pipeLines(h.process.stdout, (l) => {
        try {
          lines.push(JSON.parse(l));
        } catch { /* not a report */ }
      });
      h = await h.next;
    }
  })();
  return lines;
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
}

Deno.test("an API ring change restarts the agent under the new ring's flags, kernel rules and ceiling", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  const ws = join(dir, "ws");
  await Deno.mkdir(ws);
  await Deno.writeTextFile(join(ws, "notes.txt"), "notes");
  const host = new AgentHost({
    policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
    rings: loadRings(),
    stateDir: join(dir, "state"),
  });
  const approvals = new ApprovalQueue(host.governor);
  const app = controlPlane(host, {
    tokens: [{ token: ADMIN, name: "ada", role: "admin" }],
    approvals,
    policyPaths: ["policies/agents.yaml"],
  });
  const ring = async (id: string, ring: number) => {
    const r = await app.request(`/api/agents/${encodeURIComponent(id)}/ring`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ ring }),
    });
    assertEquals(r.status, 200);
    return await r.json() as { id: string; ring: number; pid: number };
  };
  try {
    const first = await host.start({ module: READER, name: "reader", ring: 3, workspace: ws });
    const lines = follow(first);
    await until("a ring-3 report", () => lines.some((l) => l.pid === first.pid));
    assertEquals(lines.find((l) => l.pid === first.pid)!.read, "NotCapable");

    // 3 -> 2: the broker now allows the read; only a process started with ring 2's kernel
    // rules (which include the workspace) can actually open it.
    const up = await ring(first.id, 2);
    assertEquals([up.id, up.ring], [first.id, 2]);
    if (up.pid === first.pid) throw new Error("the agent was not restarted");
    await until("a ring-2 report", () => lines.some((l) => l.pid === up.pid));
    assertEquals(lines.find((l) => l.pid === up.pid), { pid: up.pid, flag: "granted", read: "ok" });
    assertEquals((await first.exited).code, 137);

    // 2 -> 3: Deno's flags no longer grant the read, and the ceiling denies it.
    const down = await ring(first.id, 3);
    if (down.pid === up.pid) throw new Error("the agent was not restarted");
    await until("a ring-3 report", () => lines.some((l) => l.pid === down.pid));
    const l3 = lines.find((l) => l.pid === down.pid)!;
    if (l3.flag === "granted" || l3.read === "ok") throw new Error(JSON.stringify(l3));
    const log = host.audit.recent.filter((e) => e.agent.id === first.id);
    const changes = log.filter((e) => e.action === "agent.ring").map((e) => e.reason);
    assertEquals(changes, ["operator: ring 3 -> 2 (ada)", "operator: ring 2 -> 3 (ada)"]);
    const denied = log.filter((e) =>
      e.action === "fs.read" && e.effect === "deny" && e.resource.endsWith("/notes.txt") &&
      e.agent.ring === 3
    );
    if (!denied.some((e) => e.reason.startsWith("ring ceiling: ring 3"))) {
      throw new Error(JSON.stringify(denied.slice(-3)));
    }
    assertEquals(host.agents().map((h) => [h.id, h.pid, h.ref.ring]), [[first.id, down.pid, 3]]);
  } finally {
    approvals.close();
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an operator cannot lift a probationary agent above ring 3; a ring change during a restart is refused", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  const host = new AgentHost({
    policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
    rings: loadRings(),
    stateDir: join(dir, "state"),
  });
  try {
    const h = await host.start({ module: READER, name: "reader", ring: 2 });
    host.trust.set(h.id, 450);
    h.ref.trust = 450;
    const moving = host.setRing(h.id, 3, "operator", "ada");
    const busy = await host.setRing(h.id, 2, "operator", "bob").then(() => "", (e) => e.message);
    assertEquals(busy, "agent reader is stopping or restarting");
    const at3 = await moving;
    assertEquals(at3.ref.ring, 3);
    const again = await host.setRing(h.id, 2, "operator", "ada");
    assertEquals([again.pid, again.ref.ring], [at3.pid, 3]);
    const reasons = host.audit.recent.filter((e) => e.action === "agent.ring").map((e) => e.reason);
    assertEquals(reasons, ["operator: ring 2 -> 3 (ada)"]);
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});
