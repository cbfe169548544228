/**
 * An agent's resource budgets, mapped onto the layers that enforce them: its cgroup (memory,
 * pids), RLIMIT_FSIZE (one file), the watchdog (disk growth of the workspace and deno_dir, and
 * memory and threads where no cgroup exists), and the broker (checks per second). Names the
 * layer whenever the kernel, rather than the host, ended an agent.
 */
import type { Budgets } from "../../governance/rings/mod.ts";
import { AgentCgroup } from "./cgroup.ts";
import { killGroup, WRAPPERS } from "./spawn.ts";
import type { Watched } from "./watchdog.ts";

const mib = (n: number) => Math.round(n / 1048576);

let warned = false;

/**
 * The agent's cgroup, or null when cgroups are off or this host cannot make one (said once
 * per process on stderr: the watchdog then enforces memory and pids alone).
 */
export function agentCgroup(b: Budgets, mode: "auto" | "off" | undefined): AgentCgroup | null {
  if (mode === "off") return null;
  const cg = AgentCgroup.create({ memoryBytes: b.memoryBytes, pids: b.pids, cpu: b.cpu });
  if (typeof cg !== "string") return cg;
  if (!warned) {
    warned = true;
    console.error(
      `warden: no cgroup for agents (${cg}); the watchdog enforces the memory and pids budgets`,
    );
  }
  return null;
}

/**
 * Move the just-spawned agent into its cgroup without blocking the host (a v1 migration waits
 * for the kernel): resolves once it is in; on a refusal the process is killed and the promise
 * rejects with why. The caller holds the agent's broker until it settles
 * (BrokerServer.holdUntil), so no agent code runs before. Fails closed.
 */
export async function joinCgroupAsync(cg: AgentCgroup | null, pid: number): Promise<void> {
  if (!cg) return;
  try {
    await cg.joinAsync(pid);
  } catch (e) {
    killGroup(pid);
    cg.remove();
    throw new Error(`cannot move the agent into its cgroup: ${(e as Error).message}`);
  }
}

/** What the watchdog checks, given what the cgroup already enforces. */
export function watchedBudgets(
  b: Budgets,
  cg: AgentCgroup | null,
  diskRoots: string[],
): Pick<Watched, "memoryBytes" | "threads" | "group" | "disk" | "pidsRefused" | "cpuShare"> {
  return {
    // With a cgroup the kernel acts at the budget; resident memory also counts shared runtime
    // pages charged elsewhere, so the watchdog stays as a backstop above it.
    memoryBytes: cg?.memoryDir ? Math.round(b.memoryBytes * 1.25) + 128 * 1048576 : b.memoryBytes,
    threads: cg?.pidsDir ? null : b.pids,
    // Without a cgroup, the agent's descendants are found by its process group (setsid).
    group: !(cg?.memoryDir && cg?.pidsDir) && WRAPPERS.setsid !== null,
    pidsRefused: cg?.pidsDir ? () => cg.pidsRefused() : null,
    // The cgroup's quota throttles; without it the watchdog kills sustained use above the share.
    cpuShare: cg?.cpuDir ? null : b.cpu,
    disk: { roots: diskRoots, bytes: b.diskBytes },
  };
}

/**
 * Which layers enforce memory, pids and cpu for this agent (for its `agent.start` audit entry):
 * `cpu <n>` among the cgroup's controllers when its quota is set, else `cpu: watchdog`.
 */
export function budgetLayers(cg: AgentCgroup | null): string {
  const kernel = [
    cg?.memoryDir ? "memory" : null,
    cg?.pidsDir ? "pids" : null,
    cg?.cpuDir ? `cpu ${cg.cpu}` : null,
  ].filter(Boolean);
  const fsize = WRAPPERS.prlimit ? ", RLIMIT_FSIZE" : " (no prlimit: no RLIMIT_FSIZE)";
  const cpu = cg?.cpuDir ? "" : ", cpu: watchdog";
  return kernel.length
    ? `budgets: cgroup ${cg!.version} ${kernel.join("+")}${fsize}, watchdog${cpu}`
    : `budgets: watchdog (no cgroup)${fsize}${cpu}`;
}

/** Why the kernel ended the agent (a budget's layer), or null when it did not. */
export function kernelKill(
  cg: AgentCgroup | null,
  s: Deno.CommandStatus,
  b: Budgets,
): string | null {
  if (s.signal === "SIGXFSZ") {
    return `RLIMIT_FSIZE: a file reached the disk budget of ${mib(b.diskBytes)} MiB`;
  }
  if (s.signal === "SIGKILL" && cg && cg.oomKills() > 0) {
    return `cgroup memory limit: memory budget of ${mib(b.memoryBytes)} MiB reached`;
  }
  // A runtime that cannot start a thread may abort by itself before the watchdog acts.
  if ((s.code !== 0 || s.signal) && cg && cg.pidsRefused() > 0) {
    return `cgroup pids limit: the kernel refused a new process or thread (pids budget ${b.pids})`;
  }
  return null;
}
