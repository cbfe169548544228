/**
 * Polls /proc for each agent's CPU time, resident memory and threads, the disk its workspace
 * and deno_dir use, and the kernel's pids refusals, and reports budget breaches. Where no cgroup
 * quota throttles the agent's CPU share, it kills sustained use above the share instead. Every
 * reason names the layer ("watchdog: ...", "cgroup pids limit: ...").
 */

/** CPU milliseconds and resident bytes of a process, or null when it is gone. */
export function usage(pid: number): { cpuMs: number; rssBytes: number } | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(f[11]) + Number(f[12]); // utime + stime
    const rssPages = Number(f[21]);
    return { cpuMs: ticks * 10, rssBytes: rssPages * 4096 };
  } catch {
    return null;
  }
}

/** What one process group holds: resident bytes, tasks (threads) and CPU time of the living. */
export interface GroupUsage {
  rssBytes: number;
  tasks: number;
  cpuMs: number;
}

/**
 * Resident bytes, tasks (threads) and CPU time of every process in each process group, from one scan of
 * /proc: the agent's descendants share its group (it leads its own session).
 */
export function groupUsage(): Map<number, GroupUsage> {
  const out = new Map<number, GroupUsage>();
  let list: Deno.DirEntry[];
  try {
    list = [...Deno.readDirSync("/proc")];
  } catch {
    return out;
  }
  for (const e of list) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const pgrp = Number(f[2]);
      const g = out.get(pgrp) ?? { rssBytes: 0, tasks: 0, cpuMs: 0 };
      g.rssBytes += Number(f[21]) * 4096;
      g.tasks += Number(f[17]);
      g.cpuMs += (Number(f[11]) + Number(f[12])) * 10;
      out.set(pgrp, g);
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/** Threads of a process (each counts against the pids budget), or null when it is gone. */
export function threads(pid: number): number | null {
  try {
    const m = /^Threads:\s+(\d+)$/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Every file or directory counts at least this much (empty files still cost an inode). */
export const ENTRY_BYTES = 1024;
/** A walk stops after this many entries (more files than that is a breach by itself). */
export const MAX_ENTRIES = 200_000;

/**
 * Disk used under `roots`: allocated blocks (or the size where blocks are unknown), at least
 * `ENTRY_BYTES` per entry, symlinks not followed. `entries` stops at `limit`.
 */
export function diskUsage(
  roots: string[],
  limit = MAX_ENTRIES,
): { bytes: number; entries: number } {
  let bytes = 0, entries = 0;
  const stack = [...roots];
  while (stack.length > 0 && entries < limit) {
    const dir = stack.pop()!;
    let list: Deno.DirEntry[];
    try {
      list = [...Deno.readDirSync(dir)];
    } catch {
      continue; // removed meanwhile, or not a directory
    }
    for (const e of list) {
      if (++entries >= limit) break;
      const p = `${dir}/${e.name}`;
      try {
        const st = Deno.lstatSync(p);
        const used = st.blocks !== null ? st.blocks * 512 : st.size;
        bytes += Math.max(used, ENTRY_BYTES);
        if (st.isDirectory) stack.push(p);
      } catch { /* removed meanwhile */ }
    }
  }
  return { bytes, entries };
}

/**
 * Disk held by files `pid` keeps open after unlinking them: invisible to a directory walk, still
 * taking space until closed. (Open file descriptors are capped by RLIMIT_NOFILE.)
 */
export function unlinkedOpenBytes(pid: number): number {
  let bytes = 0;
  let fds: Deno.DirEntry[];
  try {
    fds = [...Deno.readDirSync(`/proc/${pid}/fd`)];
  } catch {
    return 0;
  }
  for (const e of fds) {
    const p = `/proc/${pid}/fd/${e.name}`;
    try {
      if (!Deno.readLinkSync(p).endsWith(" (deleted)")) continue;
      const st = Deno.statSync(p);
      if (st.isFile) bytes += st.blocks !== null ? st.blocks * 512 : st.size;
    } catch { /* closed meanwhile */ }
  }
  return bytes;
}

const mib = (n: number) => Math.round(n / 1048576);

export interface Watched {
  pid: number;
  cpuMs: number | null;
  memoryBytes: number | null;
  /** Threads of the agent process (null: the kernel's pids limit covers it). */
  threads?: number | null;
  /**
   * Without a cgroup, also hold the agent's whole process group (its descendants) to
   * `memoryBytes` and `threads`, measured every `diskIntervalMs`.
   */
  group?: boolean;
  /** Disk budget: how much `roots` may grow beyond what they held at `watch()`. */
  disk?: { roots: string[]; bytes: number } | null;
  /** The kernel refused a process or thread at the cgroup pids limit this many times. */
  pidsRefused?: (() => number) | null;
  /**
   * CPUs' worth of time the agent may use at once, when no cgroup quota throttles it: more than
   * the share (plus `CPU_SLACK`) over a whole `CPU_WINDOW_MS` kills.
   */
  cpuShare?: number | null;
  onBreach: (why: string) => void;
}

interface State {
  w: Watched;
  baseline: number;
  nextDiskAt: number;
  nextCheckAt: number;
  /** Where the current CPU window started (wall ms, CPU ms), for `cpuShare`. */
  cpuWindow: { at: number; cpuMs: number } | null;
}

/** The window over which the watchdog measures an agent's CPU share (without a cgroup quota). */
export const CPU_WINDOW_MS = 5000;
/** CPUs above the share a whole window may use before the watchdog acts. */
export const CPU_SLACK = 0.2;

/**
 * Why the CPU used between two samples breaks `share`, or null: judged only over a whole
 * window, with a fifth of a CPU of slack (start-up compiles on several threads at once).
 */
export function cpuShareBreach(
  share: number,
  from: { at: number; cpuMs: number },
  to: { at: number; cpuMs: number },
): string | null {
  const wall = to.at - from.at;
  if (wall < CPU_WINDOW_MS) return null;
  const used = (to.cpuMs - from.cpuMs) / wall;
  if (used <= share + CPU_SLACK) return null;
  return `watchdog: cpu budget: ${used.toFixed(2)} CPUs used over ${
    Math.round(wall / 1000)
  } s > ${share} allowed (no cgroup cpu quota)`;
}

/**
 * Each agent's /proc and cgroup reads cost tens of µs: with many agents the period per agent
 * grows (2 ms per agent watched, never under the tick), so the watchdog's reads stay near
 * 1,000/s however many agents run (50 agents: each checked every 100 ms).
 */
const PER_AGENT_MS = 2;

/** One timer for all agents. */
export class Watchdog {
  #watched = new Set<State>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(readonly intervalMs = 20, readonly diskIntervalMs = 100) {}

  watch(w: Watched): () => void {
    const baseline = w.disk ? diskUsage(w.disk.roots).bytes : 0;
    const st: State = { w, baseline, nextDiskAt: 0, nextCheckAt: 0, cpuWindow: null };
    this.#watched.add(st);
    this.#timer ??= setInterval(() => this.#tick(), this.intervalMs);
    return () => {
      this.#watched.delete(st);
      if (this.#watched.size === 0 && this.#timer !== null) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    };
  }

  #nextGroupAt = 0;

  #tick(): void {
    // One /proc scan serves every agent that needs its process group measured.
    let groups: Map<number, GroupUsage> | null = null;
    const now = performance.now();
    if (now >= this.#nextGroupAt && [...this.#watched].some((st) => st.w.group)) {
      const t0 = performance.now();
      groups = groupUsage();
      this.#nextGroupAt = now + Math.max(this.diskIntervalMs, 10 * (performance.now() - t0));
    }
    const period = Math.max(this.intervalMs, this.#watched.size * PER_AGENT_MS);
    for (const st of this.#watched) {
      let why: string | null = null;
      if (now >= st.nextCheckAt || groups) {
        st.nextCheckAt = now + period;
        why = this.#check(st, groups);
      }
      why ??= this.#checkDisk(st, now);
      if (why) st.w.onBreach(why);
    }
  }

  /** When the next disk walk (of any agent) may start: walks share ~10% of one core in all. */
  #nextWalkAt = 0;

  /**
   * The disk budget: at most one agent's tree is walked per turn, in turn order (the one
   * waiting longest first, never more often than `diskIntervalMs`), and the next walk waits
   * ten times as long as this one took, so 50 agents cost what one large tree costs.
   */
  #checkDisk(st: State, now: number): string | null {
    const w = st.w;
    if (!w.disk || now < st.nextDiskAt || now < this.#nextWalkAt) return null;
    let oldest = st;
    for (const o of this.#watched) {
      if (o.w.disk && o.nextDiskAt < oldest.nextDiskAt) oldest = o;
    }
    if (oldest !== st && now >= oldest.nextDiskAt) return null; // its turn comes first
    const t0 = performance.now();
    const d = diskUsage(w.disk.roots);
    d.bytes += unlinkedOpenBytes(w.pid);
    const took = performance.now() - t0;
    st.nextDiskAt = now + this.diskIntervalMs;
    this.#nextWalkAt = now + 10 * took;
    if (d.entries >= MAX_ENTRIES) {
      return `watchdog: disk budget: ${MAX_ENTRIES} or more files in the workspace and cache`;
    }
    const grown = d.bytes - st.baseline;
    if (grown > w.disk.bytes) {
      return `watchdog: disk budget: workspace and cache grew by ${mib(grown)} MiB > ${
        mib(w.disk.bytes)
      } MiB allowed`;
    }
    return null;
  }

  #check(st: State, groups: Map<number, GroupUsage> | null): string | null {
    const w = st.w;
    const u = usage(w.pid);
    if (!u) return null;
    if (w.cpuMs !== null && u.cpuMs > w.cpuMs) {
      return `watchdog: cpu budget: ${u.cpuMs} ms used > ${w.cpuMs} ms allowed`;
    }
    if (w.memoryBytes !== null && u.rssBytes > w.memoryBytes) {
      return `watchdog: memory budget: ${mib(u.rssBytes)} MiB resident > ${
        mib(w.memoryBytes)
      } MiB allowed`;
    }
    const refused = w.pidsRefused?.() ?? 0;
    if (refused > 0) {
      return `cgroup pids limit: the kernel refused a new process or thread (pids budget reached)`;
    }
    if (w.threads) {
      const n = threads(w.pid);
      if (n !== null && n > w.threads) {
        return `watchdog: pids budget: ${n} threads > ${w.threads} allowed`;
      }
    }
    const g = w.group ? groups?.get(w.pid) : undefined;
    // The process group's CPU (its descendants too) on the ticks that measure it, else the agent's.
    if (w.cpuShare && (!w.group || g)) {
      const sample = { at: performance.now(), cpuMs: g ? g.cpuMs : u.cpuMs };
      const from = st.cpuWindow;
      if (!from || sample.cpuMs < from.cpuMs) st.cpuWindow = sample;
      else if (sample.at - from.at >= CPU_WINDOW_MS) {
        const why = cpuShareBreach(w.cpuShare, from, sample);
        if (why) return why;
        st.cpuWindow = sample;
      }
    }
    if (g) {
      if (w.memoryBytes !== null && g.rssBytes > w.memoryBytes) {
        return `watchdog: memory budget: ${
          mib(g.rssBytes)
        } MiB resident in the agent's processes > ${mib(w.memoryBytes)} MiB allowed`;
      }
      if (w.threads && g.tasks > w.threads) {
        return `watchdog: pids budget: ${g.tasks} threads in the agent's processes > ${w.threads} allowed`;
      }
    }
    return null;
  }
}
