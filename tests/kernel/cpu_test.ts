/**
 * The CPU budget (issue 20 item 3): a cgroup cpu quota per agent (v1 `cpu.cfs_quota_us`, v2
 * `cpu.max`) from the ring's `cpu` budget or the agent's `budgets.cpu`; without a cgroup the
 * watchdog kills sustained use above the share; `agent.start` names the layer.
 */
import type { AgentHandle, AgentHost } from "../../runtime/host.ts";
import { cgroupsRemoved, cgroupSupport, liveCgroups } from "../../runtime/supervisor/cgroup.ts";
import { cpuShareBreach, usage } from "../../runtime/supervisor/watchdog.ts";
import { agentBudgets, DEFAULT_BUDGETS, parseBudgets } from "../../governance/rings/mod.ts";
import { assertEquals } from "../policy/asserts.ts";
import { withHost } from "../host/helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const BUSY = new URL("./agents/busy.ts", import.meta.url).pathname;

/** Start the busy loop and wait for its first line. */
async function busy(host: AgentHost, cpu: number): Promise<AgentHandle> {
  const workspace = await Deno.makeTempDir({ prefix: "warden-cpu-ws-" });
  const h = await host.start({
    module: BUSY,
    ring: 3,
    workspace,
    timeoutMs: 120_000,
    budgets: { cpu },
  });
  const reader = h.process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("BUSY")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the agent ended early: ${out}`);
    out += value;
  }
  reader.releaseLock();
  h.process.stderr.cancel().catch(() => {});
  return h;
}

Deno.test("cpu: every ring has a cpu budget and overrides are validated", () => {
  for (const r of [0, 1, 2, 3] as const) {
    if (!(DEFAULT_BUDGETS[r].cpu > 0)) throw new Error(`ring ${r} has no cpu budget`);
  }
  if (DEFAULT_BUDGETS[3].cpu > DEFAULT_BUDGETS[2].cpu) throw new Error("ring 3 > ring 2");
  assertEquals(parseBudgets({ cpu: 0.5 }).cpu, 0.5);
  assertEquals(agentBudgets(DEFAULT_BUDGETS[3], { cpu: 0.2 }).cpu, 0.2);
  for (const v of [0, -1, 0.001, 5000, "1", Infinity, NaN]) {
    let threw = false;
    try {
      agentBudgets(DEFAULT_BUDGETS[3], { cpu: v });
    } catch (e) {
      threw = /budget cpu: /.test(String(e));
    }
    if (!threw) throw new Error(`accepted cpu ${v}`);
  }
});

Deno.test(
  "cpu: a busy loop with a 0.2-CPU quota gets about its share",
  opts,
  () =>
    withHost(async (host) => {
      if (!cgroupSupport().cpu) {
        throw new Error(`this host has no cpu cgroup controller: ${cgroupSupport().why}`);
      }
      const h = await busy(host, 0.2);
      try {
        const start = host.audit.recent.find((e) =>
          e.action === "agent.start" && e.agent.id === h.id
        ) as { limits?: string } | undefined;
        if (!start?.limits?.includes("cpu 0.2")) {
          throw new Error(`agent.start does not name the cpu quota: ${start?.limits}`);
        }
        const groups = Deno.readTextFileSync(`/proc/${h.pid}/cgroup`);
        if (!/:cpu(,cpuacct)?:.*\/warden-\d+-\d+$/m.test(groups)) {
          throw new Error(`the agent runs outside a cpu cgroup:\n${groups}`);
        }
        // Sample its CPU time over two seconds of wall time: unthrottled it would take a whole CPU.
        const a = usage(h.pid)!, t0 = performance.now();
        await new Promise((r) => setTimeout(r, 2000));
        const b = usage(h.pid)!, wall = performance.now() - t0;
        const share = (b.cpuMs - a.cpuMs) / wall;
        if (share > 0.45) throw new Error(`a 0.2-CPU quota let it use ${share.toFixed(2)} CPUs`);
        const ended = await Promise.race([h.exited, Promise.resolve(null)]);
        if (ended) throw new Error(`throttled, not killed: it ended ${JSON.stringify(ended)}`);
      } finally {
        await h.kill("test done");
        await h.exited;
      }
      await cgroupsRemoved();
      assertEquals(liveCgroups(), [], "the agent's cgroup outlived it");
    }),
);

Deno.test(
  "cpu: without a cgroup the watchdog kills sustained use above the share",
  opts,
  () =>
    withHost(async (host) => {
      const h = await busy(host, 0.05);
      const start = host.audit.recent.find((e) =>
        e.action === "agent.start" && e.agent.id === h.id
      ) as { limits?: string } | undefined;
      if (!start?.limits?.includes("cpu: watchdog")) {
        throw new Error(`agent.start does not name the watchdog for cpu: ${start?.limits}`);
      }
      const exit = await h.exited;
      if (!exit.killed || !/^watchdog: cpu budget: /.test(exit.killed)) {
        throw new Error(`not killed by the watchdog's cpu budget: ${JSON.stringify(exit)}`);
      }
    }, { cgroups: "off" }),
);

Deno.test("cpu: the watchdog judges a whole window with slack", () => {
  const from = { at: 0, cpuMs: 0 };
  assertEquals(cpuShareBreach(0.2, from, { at: 4000, cpuMs: 4000 }), null, "short window");
  assertEquals(cpuShareBreach(0.2, from, { at: 5000, cpuMs: 2000 }), null, "within slack");
  const why = cpuShareBreach(0.2, from, { at: 5000, cpuMs: 5000 });
  if (!why?.startsWith("watchdog: cpu budget: 1.00 CPUs")) throw new Error(String(why));
});
