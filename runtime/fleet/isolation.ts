/**
 * Fleet isolation (FLEET.md §6.7): a host that has not caught up with the revocation stream for
 * `T_stale` refuses what raises privilege or starts coordinated work — agent starts, ring
 * raises, plugin loads, approvals — and leaves isolation only after a successful catch-up.
 * Running agents continue (or stop, with `isolated: stop`).
 */

/** What isolation refuses. */
export type Guarded = "agent start" | "ring raise" | "plugin load" | "approval";

export class Isolation {
  #last: number;
  #listeners: ((isolated: boolean) => void)[] = [];
  #was = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly staleMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#last = now(); // a fresh host has T_stale of grace to catch up
  }

  /** Record a successful catch-up (every pending revocation applied). */
  caughtUp(): void {
    this.#last = this.now();
    this.#check();
  }

  /** True while no catch-up succeeded for `staleMs`. */
  get isolated(): boolean {
    return this.now() - this.#last > this.staleMs;
  }

  /** The one-line refusal for `what`, or undefined when not isolated. */
  refusal(what: Guarded): string | undefined {
    if (!this.isolated) return undefined;
    const s = Math.round((this.now() - this.#last) / 1000);
    return `fleet isolation: ${what} refused: this host has not caught up with the fleet ` +
      `database for ${s} s (T_stale ${this.staleMs / 1000} s)`;
  }

  /** Call `fn` on entering (true) and leaving (false) isolation; checks every 250 ms. */
  onChange(fn: (isolated: boolean) => void): void {
    this.#listeners.push(fn);
    this.#timer ??= setInterval(() => this.#check(), 250);
  }

  #check(): void {
    const now = this.isolated;
    if (now === this.#was) return;
    this.#was = now;
    for (const l of this.#listeners) {
      try {
        l(now);
      } catch { /* a listener must not break the others */ }
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
