/**
 * Kernel resource limits for one agent: a cgroup per agent with the memory, pids and CPU
 * controllers (cgroup v1 per-controller hierarchies — `cpu` for the CFS quota, `cpuacct` for
 * the usage — or v2 where the host's own cgroup delegates them), created under the host's own
 * cgroup. The host moves the agent's process in
 * right after spawning it, before it answers the agent's first broker check: agent code cannot
 * load before that answer, so no agent code runs outside the cgroup. When no cgroup can be
 * created, `cgroupSupport()` says why (once) and the watchdog enforces the budgets alone.
 */
import { join } from "node:path";

/** Which controllers this host can give an agent, and how. */
export interface CgroupSupport {
  memory: boolean;
  pids: boolean;
  /** A CPU quota (v1 `cpu.cfs_quota_us`, v2 `cpu.max`). */
  cpu: boolean;
  /** "v1", "v2", or null when neither controller is available. */
  version: "v1" | "v2" | null;
  /** Why a controller is missing ("" when both are there). */
  why: string;
}

interface Mount {
  dir: string;
  root: string;
  v2: boolean;
  controllers: string[];
}

function mounts(): Mount[] {
  const out: Mount[] = [];
  let text = "";
  try {
    text = Deno.readTextFileSync("/proc/self/mountinfo");
  } catch {
    return out;
  }
  for (const line of text.split("\n")) {
    const [pre, post] = line.split(" - ");
    if (!post) continue;
    const f = pre.split(" ");
    const [fstype, , superOpts] = post.split(" ");
    const dir = f[4]?.replace(/\\040/g, " ");
    if (!dir) continue;
    if (fstype === "cgroup") {
      out.push({ dir, root: f[3], v2: false, controllers: (superOpts ?? "").split(",") });
    } else if (fstype === "cgroup2") out.push({ dir, root: f[3], v2: true, controllers: [] });
  }
  return out;
}

/** The host's own cgroup path per v1 controller ("" key: the v2 path). */
function ownPaths(): Map<string, string> {
  const m = new Map<string, string>();
  try {
    for (const line of Deno.readTextFileSync("/proc/self/cgroup").split("\n")) {
      const [, ctrls, path] = line.split(":");
      if (path === undefined) continue;
      for (const c of ctrls === "" ? [""] : ctrls.split(",")) m.set(c, path);
    }
  } catch { /* no cgroups */ }
  return m;
}

function under(mount: Mount, path: string): string {
  const rel = mount.root !== "/" && path.startsWith(mount.root)
    ? path.slice(mount.root.length)
    : path;
  return join(mount.dir, rel);
}

/** The host's cgroup directory per controller (v1) or for both (v2), or the reason there is none. */
function parents(): { v1: Map<string, string>; v2: string | null } {
  const own = ownPaths();
  const v1 = new Map<string, string>();
  let v2: string | null = null;
  for (const m of mounts()) {
    if (m.v2) {
      const p = own.get("");
      if (p !== undefined) v2 = under(m, p);
      continue;
    }
    for (const c of ["memory", "pids", "cpu", "cpuacct"]) {
      const p = own.get(c);
      if (m.controllers.includes(c) && p !== undefined) v1.set(c, under(m, p));
    }
  }
  return { v1, v2 };
}

let seq = 0;
const PREFIX = `warden-${Deno.pid}-`;

function tryWrite(path: string, text: string): string | null {
  try {
    Deno.writeTextFileSync(path, text);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** The value of `key` in a flat-keyed cgroup file ("oom_kill 3"), or 0. */
function keyed(path: string, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, "m").exec(readText(path));
  return m ? Number(m[1]) : 0;
}

/** Where an agent's cgroup directories go for each controller. */
interface Layout {
  version: "v1" | "v2";
  memory: string | null;
  pids: string | null;
  cpu: string | null;
  /** v1 only: the CPU usage counter's hierarchy (often co-mounted with `cpu`). */
  cpuacct: string | null;
}

/** Remove empty agent cgroups left by hosts that died without cleaning up (SIGKILL). */
function sweep(parent: string): void {
  try {
    for (const e of Deno.readDirSync(parent)) {
      const m = /^warden-(\d+)-/.exec(e.name);
      if (!e.isDirectory || !m || Number(m[1]) === Deno.pid) continue;
      try {
        Deno.statSync(`/proc/${m[1]}`);
        continue; // that host is alive
      } catch { /* dead: its empty groups can go */ }
      try {
        Deno.removeSync(join(parent, e.name));
      } catch { /* still has tasks */ }
    }
  } catch { /* unreadable */ }
}

function probe(): { layout: Layout | null; support: CgroupSupport } {
  const { v1, v2 } = parents();
  for (const p of [...v1.values(), ...(v2 ? [v2] : [])]) sweep(p);
  const missing: string[] = [];
  const layout: Layout = { version: "v1", memory: null, pids: null, cpu: null, cpuacct: null };
  for (const c of ["memory", "pids", "cpu", "cpuacct"] as const) {
    const parent = v1.get(c);
    if (!parent) continue;
    const dir = join(parent, `${PREFIX}probe`);
    try {
      Deno.mkdirSync(dir);
      Deno.removeSync(dir);
      layout[c] = parent;
    } catch (e) {
      missing.push(`cannot create a ${c} cgroup under ${parent}: ${(e as Error).message}`);
    }
  }
  if (!layout.memory && !layout.pids && v2) {
    const ctrls = readText(join(v2, "cgroup.subtree_control")).split(/\s+/);
    const dir = join(v2, `${PREFIX}probe`);
    try {
      Deno.mkdirSync(dir);
      Deno.removeSync(dir);
      layout.version = "v2";
      if (ctrls.includes("memory")) layout.memory = v2;
      if (ctrls.includes("pids")) layout.pids = v2;
      if (ctrls.includes("cpu")) layout.cpu = v2;
      if (!layout.memory || !layout.pids) {
        missing.push(`the host's cgroup ${v2} does not delegate memory and pids to children`);
      }
    } catch (e) {
      missing.push(`cannot create a cgroup under ${v2}: ${(e as Error).message}`);
    }
  }
  if (!v1.size && !v2) missing.push("no cgroup filesystem is mounted");
  else if (!layout.memory && !layout.pids && missing.length === 0) {
    missing.push("neither the memory nor the pids controller is available");
  }
  if (layout.version === "v1" && !layout.cpu && (layout.memory || layout.pids)) {
    missing.push("no cpu controller: the watchdog enforces the cpu budget");
  }
  const support: CgroupSupport = {
    memory: layout.memory !== null,
    pids: layout.pids !== null,
    cpu: layout.cpu !== null && (layout.memory !== null || layout.pids !== null),
    version: layout.memory || layout.pids ? layout.version : null,
    why: missing.join("; "),
  };
  return { layout: support.version ? layout : null, support };
}

/** The CFS period the CPU quota is a share of (100 ms, the kernel's default). */
export const CPU_PERIOD_US = 100_000;

/** A quota of `cpus` CPUs per period, in µs (at least the kernel's 1 ms minimum). */
export function cpuQuotaUs(cpus: number): number {
  return Math.max(1000, Math.round(cpus * CPU_PERIOD_US));
}

const removing = new Set<Promise<void>>();

/** Resolves when every agent cgroup being removed is gone (hosts await it when closing). */
export async function cgroupsRemoved(): Promise<void> {
  while (removing.size > 0) await Promise.all([...removing]);
}

let probed: { layout: Layout | null; support: CgroupSupport } | undefined;

/** What this host can do with cgroups (probed once per process). */
export function cgroupSupport(): CgroupSupport {
  probed ??= probe();
  return probed.support;
}

/** The agent cgroup directories this process has now (none once every agent is cleaned up). */
export function liveCgroups(): string[] {
  probed ??= probe();
  const layout = probed.layout;
  if (!layout) return [];
  const out = new Set<string>();
  for (const parent of [layout.memory, layout.pids, layout.cpu, layout.cpuacct]) {
    if (!parent) continue;
    for (const e of Deno.readDirSync(parent)) {
      if (e.isDirectory && e.name.startsWith(PREFIX)) out.add(join(parent, e.name));
    }
  }
  return [...out];
}

/** One agent's cgroup (one directory per v1 controller, or one v2 directory). */
export class AgentCgroup {
  private constructor(
    readonly version: "v1" | "v2",
    /** The memory controller's directory, when limited. */
    readonly memoryDir: string | null,
    /** The pids controller's directory, when limited. */
    readonly pidsDir: string | null,
    readonly memoryBytes: number,
    readonly pids: number,
    /** The CPU controller's directory (its quota), when limited. */
    readonly cpuDir: string | null = null,
    /** v1: the cpuacct directory (usage); v2: the same as `cpuDir`. */
    readonly cpuacctDir: string | null = null,
    /** The CPU quota in CPUs (0.2: a fifth of one CPU each period). */
    readonly cpu: number | null = null,
  ) {}

  /**
   * A new cgroup limited to `memoryBytes`, `pids` tasks and (where the host has the cpu
   * controller) `cpu` CPUs, or the reason when this host cannot make one.
   */
  static create(
    limits: { memoryBytes: number; pids: number; cpu?: number },
  ): AgentCgroup | string {
    probed ??= probe();
    const layout = probed.layout;
    if (!layout) return probed.support.why;
    const name = `${PREFIX}${++seq}`;
    const made: string[] = [];
    const fail = (why: string): string => {
      for (const d of made) {
        try {
          Deno.removeSync(d);
        } catch { /* best effort */ }
      }
      return why;
    };
    const make = (parent: string | null): string | null => {
      if (!parent) return null;
      const dir = join(parent, name);
      if (made.includes(dir)) return dir;
      Deno.mkdirSync(dir);
      made.push(dir);
      return dir;
    };
    let memoryDir: string | null, pidsDir: string | null;
    let cpuDir: string | null = null, cpuacctDir: string | null = null;
    try {
      memoryDir = make(layout.memory);
      pidsDir = make(layout.pids);
      if (limits.cpu !== undefined) {
        cpuDir = make(layout.cpu);
        cpuacctDir = layout.version === "v2" ? cpuDir : make(layout.cpuacct);
      }
    } catch (e) {
      return fail(`cannot create the agent's cgroup: ${(e as Error).message}`);
    }
    const bytes = String(limits.memoryBytes);
    if (memoryDir) {
      const why = layout.version === "v1"
        ? tryWrite(join(memoryDir, "memory.limit_in_bytes"), bytes)
        : tryWrite(join(memoryDir, "memory.max"), bytes);
      if (why) return fail(`cannot set the cgroup memory limit: ${why}`);
      // No swapping around the limit (absent without swap accounting: then there is no swap).
      if (layout.version === "v1") tryWrite(join(memoryDir, "memory.memsw.limit_in_bytes"), bytes);
      else tryWrite(join(memoryDir, "memory.swap.max"), "0");
    }
    if (pidsDir) {
      const why = tryWrite(join(pidsDir, "pids.max"), String(limits.pids));
      if (why) return fail(`cannot set the cgroup pids limit: ${why}`);
    }
    if (cpuDir && limits.cpu !== undefined) {
      const quota = cpuQuotaUs(limits.cpu);
      const why = layout.version === "v1"
        ? tryWrite(join(cpuDir, "cpu.cfs_period_us"), String(CPU_PERIOD_US)) ??
          tryWrite(join(cpuDir, "cpu.cfs_quota_us"), String(quota))
        : tryWrite(join(cpuDir, "cpu.max"), `${quota} ${CPU_PERIOD_US}`);
      if (why) return fail(`cannot set the cgroup cpu quota: ${why}`);
    }
    return new AgentCgroup(
      layout.version,
      memoryDir,
      pidsDir,
      limits.memoryBytes,
      limits.pids,
      cpuDir,
      cpuacctDir,
      cpuDir ? limits.cpu! : null,
    );
  }

  /** Every directory of this agent's cgroup (the ones it is joined to). */
  dirs(): string[] {
    return [
      ...new Set(
        [this.memoryDir, this.pidsDir, this.cpuDir, this.cpuacctDir].filter((d): d is string =>
          d !== null
        ),
      ),
    ];
  }

  /** CPU time used by every process in the cgroup so far (µs), or null without a counter. */
  cpuUsageUs(): number | null {
    if (!this.cpuacctDir) return null;
    if (this.version === "v2") return keyed(join(this.cpuacctDir, "cpu.stat"), "usage_usec");
    const ns = readText(join(this.cpuacctDir, "cpuacct.usage")).trim();
    return ns ? Math.round(Number(ns) / 1000) : null;
  }

  /** How many CFS periods the kernel throttled the cgroup in (it hit its cpu quota). */
  cpuThrottled(): number {
    return this.cpuDir ? keyed(join(this.cpuDir, "cpu.stat"), "nr_throttled") : 0;
  }

  /**
   * Move a process (all its threads) in, off the host's thread: a v1 cgroup migration waits for
   * the kernel (about 15 ms measured here), which would stall every other agent's answers.
   * Rejects when the kernel refuses.
   */
  async joinAsync(pid: number): Promise<void> {
    await Promise.all(
      this.dirs().map((d) => Deno.writeTextFile(join(d, "cgroup.procs"), String(pid))),
    );
  }

  /** How many times the kernel's OOM killer acted in this cgroup. */
  oomKills(): number {
    if (!this.memoryDir) return 0;
    return this.version === "v1"
      ? keyed(join(this.memoryDir, "memory.oom_control"), "oom_kill")
      : keyed(join(this.memoryDir, "memory.events"), "oom_kill");
  }

  /** How many times the kernel refused a new process or thread at the pids limit. */
  pidsRefused(): number {
    return this.pidsDir ? keyed(join(this.pidsDir, "pids.events"), "max") : 0;
  }

  /** Processes still in the cgroup. */
  procs(): number[] {
    const out = new Set<number>();
    for (const d of this.dirs()) {
      for (const l of readText(join(d, "cgroup.procs")).split("\n")) if (l) out.add(Number(l));
    }
    return [...out];
  }

  /** SIGKILL everything in the cgroup (descendants that left the agent's process group too). */
  killAll(): void {
    if (this.version === "v2" && tryWrite(join(this.dirs()[0], "cgroup.kill"), "1") === null) {
      return;
    }
    for (const pid of this.procs()) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
  }

  /** Kill what is left and remove the directories (retrying while the tasks drain). */
  remove(): Promise<void> {
    const p = this.#remove().finally(() => removing.delete(p));
    removing.add(p);
    return p;
  }

  async #remove(): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      this.killAll();
      let left = 0;
      for (const d of this.dirs()) {
        try {
          Deno.removeSync(d);
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) left++;
        }
      }
      if (left === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
