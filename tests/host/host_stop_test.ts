/**
 * The host stopping its agents when it shuts down is the host's stop, not a denial: audited as
 * `agent.stop` (effect allow, path host), no kill event; a kill switch pulled while the host runs
 * stays an `agent.kill` deny, and the stopped agent is gone all the same.
 */
import { assertEquals } from "../policy/asserts.ts";
import { AgentHost, type HostEvent } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { pipeLines } from "../../runtime/supervisor/output.ts";

const spin = new URL("./agents/life/spin.ts", import.meta.url).pathname;

function gone(pid: number): boolean {
  try {
    return /\) [ZX] /.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return true;
  }
}

Deno.test("host shutdown: agent.stop (allow) by the host, no denial, no kill event; a real kill is still a deny", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-stop-" });
  const auditPath = `${dir}/audit.jsonl`;
  const events: HostEvent[] = [];
  const host = new AgentHost({
    policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
    rings: loadRings(),
    auditPath,
    onEvent: (e) => events.push(e),
  });
  let pids: number[] = [];
  try {
    const [a, b] = [await host.start({ module: spin }), await host.start({ module: spin })];
    pids = [a.pid, b.pid];
    const spinning = (h: typeof a) =>
      new Promise<void>((ok) => {
        pipeLines(h.process.stdout, (l) => l === "spinning" && ok());
      });
    await Promise.all([spinning(a), spinning(b)]);
    await a.kill("operator pressed the button");
  } finally {
    await host.close();
  }
  const entries = Deno.readTextFileSync(auditPath).trim().split("\n").map((l) => JSON.parse(l));
  const host_ = entries.filter((e) => e.path === "host" && /^agent\.(kill|stop)$/.test(e.action));
  assertEquals(
    host_.map((e) => [e.action, e.effect, e.resource, e.reason]),
    [
      ["agent.kill", "deny", String(pids[0]), "kill switch: operator pressed the button"],
      ["agent.stop", "allow", String(pids[1]), "host stop: host shutting down"],
    ],
  );
  assertEquals(entries.some((e) => e.effect === "deny" && /shutting down/.test(e.reason)), false);
  const kills = events.filter((e) => e.type === "kill").map((e) =>
    (e as { reason: string }).reason
  );
  assertEquals(kills, ["operator pressed the button"]);
  assertEquals(pids.map(gone), [true, true]);
  await Deno.remove(dir, { recursive: true });
});
