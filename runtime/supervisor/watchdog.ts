/** Polls /proc for each agent's CPU time and resident memory, and reports budget breaches. */

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

export interface Watched {
  pid: number;
  cpuMs: number | null;
  memoryBytes: number | null;
  onBreach: (why: string) => void;
}

/** One timer for all agents. */
export class Watchdog {
  #watched = new Set<Watched>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(readonly intervalMs = 20) {}

  watch(w: Watched): () => void {
    this.#watched.add(w);
    this.#timer ??= setInterval(() => this.#tick(), this.intervalMs);
    return () => {
      this.#watched.delete(w);
      if (this.#watched.size === 0 && this.#timer !== null) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    };
  }

  #tick(): void {
    for (const w of this.#watched) {
      const u = usage(w.pid);
      if (!u) continue;
      if (w.cpuMs !== null && u.cpuMs > w.cpuMs) {
        w.onBreach(`cpu budget: ${u.cpuMs} ms used > ${w.cpuMs} ms allowed`);
      } else if (w.memoryBytes !== null && u.rssBytes > w.memoryBytes) {
        w.onBreach(
          `memory budget: ${Math.round(u.rssBytes / 1048576)} MiB resident > ${
            Math.round(w.memoryBytes / 1048576)
          } MiB allowed`,
        );
      }
    }
  }
}
