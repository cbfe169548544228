/**
 * Resource budgets (issue 16 class 4): every ring has default budgets for memory, disk,
 * processes/threads, broker checks per second and denial floods; the kernel enforces what it
 * can (cgroup memory and pids, RLIMIT_FSIZE) and the watchdog the rest, and every kill names
 * the layer that acted.
 */
import { join } from "node:path";
import type { AuditEntry } from "../../governance/audit/mod.ts";
import type { AgentExit, AgentHost, AgentSpec } from "../../runtime/host.ts";
import { compileRings, parseBudgets, ringBudgets } from "../../governance/rings/mod.ts";
import { DEFAULT_RINGS, loadPolicy } from "../../runtime/policy/loader.ts";
import { cgroupsRemoved, cgroupSupport, liveCgroups } from "../../runtime/supervisor/cgroup.ts";
import { groupUsage } from "../../runtime/supervisor/watchdog.ts";
import { assertEquals } from "../policy/asserts.ts";
import { withHost } from "./helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const MiB = 1 << 20;
const AGENTS = new URL("./agents/budgets/", import.meta.url).pathname;
/** Ring 0 may start programs (the process bomb); nothing else is allowed. */
const RUN_POLICY = join(AGENTS, "run_policy.yaml");

interface Result {
  exit: AgentExit;
  stdout: string;
  stderr: string;
  audit: AuditEntry[];
  workspace: string;
  ms: number;
  pid: number;
}

async function run(
  host: AgentHost,
  agent: string,
  spec: Partial<AgentSpec> = {},
): Promise<Result> {
  const workspace = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-budget-ws-" }));
  const t0 = performance.now();
  const h = await host.start({
    module: join(AGENTS, agent),
    workspace,
    timeoutMs: 60_000,
    ...spec,
  });
  const [stdout, stderr, exit] = await Promise.all([
    new Response(h.process.stdout).text(),
    new Response(h.process.stderr).text(),
    h.exited,
  ]);
  return {
    exit,
    stdout,
    stderr,
    audit: host.audit.recent.filter((e) => e.agent.id === h.id),
    workspace,
    ms: performance.now() - t0,
    pid: h.pid,
  };
}

function show(r: Result): string {
  const audit = r.audit.filter((e) => e.effect !== "allow" || e.path === "host").slice(-20);
  return `exit ${JSON.stringify(r.exit)}\nstdout:\n${r.stdout.slice(-2000)}\nstderr:\n${
    r.stderr.slice(-2000)
  }\naudit:\n${audit.map((e) => `  ${e.path} ${e.action} ${e.effect}: ${e.reason}`).join("\n")}`;
}

/** Killed (not finished), the kill audited, and the reason names one of `layers`. */
function assertStopped(r: Result, layers: RegExp): void {
  if (r.stdout.includes("BUDGET-ESCAPED")) throw new Error(`budget escaped\n${show(r)}`);
  if (r.exit.code === 0) throw new Error(`exited 0\n${show(r)}`);
  if (!r.exit.killed || !layers.test(r.exit.killed) || /timeout/.test(r.exit.killed)) {
    throw new Error(`not killed by ${layers}\n${show(r)}`);
  }
  const kill = r.audit.find((e) => e.path === "host" && e.action === "agent.kill");
  if (!kill || kill.effect !== "deny" || !kill.reason.includes(r.exit.killed)) {
    throw new Error(`no audited kill naming ${layers}\n${show(r)}`);
  }
}

function workspaceBytes(dir: string): number {
  let n = 0;
  for (const e of Deno.readDirSync(dir)) if (e.isFile) n += Deno.statSync(join(dir, e.name)).size;
  return n;
}

Deno.test("budgets: every shipped ring has finite budgets, validated with positions", () => {
  const rings = compileRings(Deno.readTextFileSync(DEFAULT_RINGS), DEFAULT_RINGS);
  for (const ring of [0, 1, 2, 3] as const) {
    const b = ringBudgets(rings.doc.budgets, ring);
    for (const [k, v] of Object.entries(b)) {
      const values: number[] = typeof v === "number" ? [v] : Object.values(v);
      for (const x of values) {
        if (!Number.isFinite(x) || x <= 0) throw new Error(`ring ${ring} ${k}: ${x}`);
      }
    }
  }
  // Rings tighten downwards: ring 3 never gets more than ring 2.
  const r2 = ringBudgets(rings.doc.budgets, 2), r3 = ringBudgets(rings.doc.budgets, 3);
  if (r3.memoryBytes > r2.memoryBytes || r3.pids > r2.pids || r3.diskBytes > r2.diskBytes) {
    throw new Error(`ring 3 budgets exceed ring 2's: ${JSON.stringify({ r2, r3 })}`);
  }
  const bad = Deno.readTextFileSync(DEFAULT_RINGS).replace("memory: 512MiB", "memory: lots");
  try {
    compileRings(bad, "rings.yaml");
    throw new Error("a bad size was accepted");
  } catch (e) {
    const msg = String(e);
    if (!/rings\.yaml:\d+:\d+/.test(msg) || !/size/.test(msg)) throw e;
  }
  assertEquals(parseBudgets({ memory: "64MiB", pids: 8 }).memoryBytes, 64 * MiB);
  for (const v of [{ memory: 0 }, { pids: -1 }, { memory: "1PB" }, { brokerRate: 1.5 }]) {
    let threw = false;
    try {
      parseBudgets(v);
    } catch {
      threw = true;
    }
    if (!threw) throw new Error(`accepted ${JSON.stringify(v)}`);
  }
});

Deno.test(
  "budgets: typed arrays beyond ring 3's default memory budget are killed",
  opts,
  () =>
    withHost(async (host) => {
      const r = await run(host, "typed_arrays.ts", { ring: 3 });
      assertStopped(r, /cgroup memory limit|watchdog: memory budget/);
      if (cgroupSupport().memory && !/^cgroup memory limit/.test(r.exit.killed!)) {
        throw new Error(`a cgroup exists here but the kernel did not act\n${show(r)}`);
      }
      const start = r.audit.find((e) => e.action === "agent.start") as { limits?: string };
      if (cgroupSupport().memory && !start.limits?.includes("cgroup")) {
        throw new Error(`agent.start does not name the cgroup: ${JSON.stringify(start)}`);
      }
      await cgroupsRemoved();
      assertEquals(liveCgroups(), [], "the agent's cgroup outlived it");
    }),
);

Deno.test("budgets: agent code runs inside its cgroup", opts, () =>
  withHost(async (host) => {
    const support = cgroupSupport();
    if (!support.memory && !support.pids) return; // nothing to join on this host
    const h = await host.start({
      module: join(AGENTS, "own_cgroup.ts"),
      ring: 3,
      timeoutMs: 60_000,
    });
    const reader = h.process.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("AGENT-CODE-RUNNING")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the agent ended early: ${out}`);
      out += value;
    }
    // Read while the agent's code runs: both controllers hold the agent's process.
    const groups = Deno.readTextFileSync(`/proc/${h.pid}/cgroup`);
    for (const c of ["memory", "pids"] as const) {
      if (support[c] && !new RegExp(`:${c}:.*/warden-${Deno.pid}-\\d+$`, "m").test(groups)) {
        throw new Error(`the agent's code runs outside its ${c} cgroup:\n${groups}`);
      }
    }
    await h.kill("test done");
    reader.releaseLock();
    await cgroupsRemoved();
    assertEquals(liveCgroups(), [], "the agent's cgroup outlived it");
  }));

Deno.test(
  "budgets: without a cgroup the watchdog kills the typed-array bomb",
  opts,
  () =>
    withHost(async (host) => {
      const r = await run(host, "typed_arrays.ts", {
        ring: 3,
        budgets: { memoryBytes: 128 * MiB },
      });
      assertStopped(r, /^watchdog: memory budget/);
    }, { cgroups: "off" }),
);

Deno.test(
  "budgets: many small files past the disk budget in the workspace are stopped",
  opts,
  () =>
    withHost(async (host) => {
      const r = await run(host, "disk_fill.ts", { ring: 2, budgets: { diskBytes: 32 * MiB } });
      assertStopped(r, /^watchdog: disk budget/);
      const used = workspaceBytes(r.workspace);
      if (used > 256 * MiB) throw new Error(`${used >> 20} MiB written\n${show(r)}`);
    }),
);

Deno.test(
  "budgets: files the host writes for the agent (SDK) count too",
  opts,
  () =>
    withHost(async (host) => {
      const r = await run(host, "sdk_fill.ts", { ring: 2, budgets: { diskBytes: 16 * MiB } });
      assertStopped(r, /^watchdog: disk budget/);
    }),
);

Deno.test(
  "budgets: files unlinked but kept open still count against the disk budget",
  opts,
  () =>
    withHost(async (host) => {
      const r = await run(host, "unlinked_fill.ts", { ring: 2, budgets: { diskBytes: 32 * MiB } });
      assertStopped(r, /^watchdog: disk budget/);
    }),
);

Deno.test(
  "budgets: one file past the budget is stopped by RLIMIT_FSIZE",
  opts,
  () =>
    withHost(async (host) => {
      const r = await run(host, "disk_fill.ts", {
        ring: 2,
        args: ["big"],
        budgets: { diskBytes: 32 * MiB },
      });
      assertStopped(r, /RLIMIT_FSIZE|watchdog: disk budget/);
      const used = workspaceBytes(r.workspace);
      if (used > 32 * MiB) throw new Error(`${used >> 20} MiB in one file\n${show(r)}`);
    }),
);

Deno.test(
  "budgets: the Cache API in the agent's deno_dir counts against the disk budget",
  opts,
  () =>
    withHost(async (host) => {
      const r = await run(host, "cache_fill.ts", { ring: 3, budgets: { diskBytes: 32 * MiB } });
      assertStopped(r, /^watchdog: disk budget|RLIMIT_FSIZE/);
    }),
);

Deno.test(
  "budgets: a broker denial flood is killed by ring 3's default flood rule",
  opts,
  () =>
    withHost(async (host) => {
      const r = await run(host, "denial_flood.ts", { ring: 3 });
      assertStopped(r, /^denial flood: \d+ denials within \d+ ms/);
      const flood = ringBudgets(host.governor.rings.doc.budgets, 3).denialFlood;
      const denials = r.audit.filter((e) => e.path === "broker" && e.effect === "deny").length;
      if (denials > flood.count + 16) {
        throw new Error(`${denials} denials audited for a flood limit of ${flood.count}`);
      }
    }),
);

Deno.test(
  "budgets: broker checks are rate limited (backpressure), so the audit is bounded",
  opts,
  () =>
    withHost(async (host) => {
      const rate = 50;
      const r = await run(host, "rate_probe.ts", {
        ring: 3,
        budgets: { brokerRate: rate },
      });
      assertEquals(r.exit.code, 0, show(r));
      const checks = r.audit.filter((e) => e.path === "broker").length;
      // A token bucket of `rate` tokens refilled at `rate` per second over the whole run.
      const bound = rate + Math.ceil(rate * r.ms / 1000);
      if (checks > bound) throw new Error(`${checks} broker checks audited > ${bound}`);
      const m = /checks (\d+)/.exec(r.stdout);
      if (!m || Number(m[1]) < 5) throw new Error(`the agent made no progress\n${show(r)}`);
    }),
);

Deno.test("budgets: a Worker bomb hits the pids budget", opts, () =>
  withHost(async (host) => {
    const r = await run(host, "worker_bomb.ts", { ring: 3, budgets: { pids: 32 } });
    assertStopped(r, /cgroup pids limit|watchdog: pids budget/);
  }));

Deno.test(
  "budgets: without a cgroup the watchdog enforces the pids budget",
  opts,
  () =>
    withHost(async (host) => {
      const r = await run(host, "worker_bomb.ts", { ring: 3, budgets: { pids: 32 } });
      assertStopped(r, /^watchdog: pids budget/);
    }, { cgroups: "off" }),
);

Deno.test(
  "budgets: without a cgroup the watchdog counts the agent's child processes too",
  opts,
  () =>
    withHost(async (host) => {
      const r = await run(host, "process_bomb.ts", { ring: 0, budgets: { pids: 32 } });
      assertStopped(r, /^watchdog: pids budget: \d+ threads in the agent's processes/);
      // The kill took the children with it (the whole process group).
      for (let i = 0; groupUsage().get(r.pid); i++) { // reaping the children takes a moment
        if (i === 250) throw new Error(`children of ${r.pid} outlived the kill`);
        await new Promise((ok) => setTimeout(ok, 20));
      }
    }, {
      cgroups: "off",
      // Ring 0 may run programs: its working directory is not pinned (a spawn sets the
      // child's cwd with chdir), so this runs under the kernel sandbox like every other test.
      policy: loadPolicy([RUN_POLICY], { builtin: true }),
    }),
);

Deno.test(
  "budgets: a per-agent budget can never be unbounded or invalid",
  opts,
  () =>
    withHost(async (host) => {
      for (const budgets of [{ memoryBytes: Infinity }, { pids: 0 }, { diskBytes: -1 }]) {
        let msg = "";
        try {
          await host.start({ module: join(AGENTS, "worker_bomb.ts"), budgets });
        } catch (e) {
          msg = String(e);
        }
        if (!/cannot start agent .*budget/.test(msg)) {
          throw new Error(`budgets ${JSON.stringify(budgets)}: ${msg || "started"}`);
        }
      }
    }),
);
