/** The host's side of a plugin process: tool calls queued for it, results routed back. */

/** A call handed to the plugin process. */
export interface PluginCall {
  callId: number;
  tool: string;
  args: Record<string, unknown>;
  idempotencyKey?: string;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class PluginChannel {
  #queue: PluginCall[] = [];
  #waiters: ((c: PluginCall | null) => void)[] = [];
  #pending = new Map<number, Pending>();
  #next = 1;
  #closed = false;

  constructor(readonly plugin: string) {}

  /** Run `tool` in the plugin process; rejects when the call is aborted or the plugin dies. */
  call(
    tool: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
    idempotencyKey?: string,
  ): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error(`plugin ${this.plugin} is not running`));
    const c: PluginCall = { callId: this.#next++, tool, args, idempotencyKey };
    const done = new Promise<unknown>((resolve, reject) => {
      this.#pending.set(c.callId, { resolve, reject });
      signal.addEventListener("abort", () => {
        if (this.#pending.delete(c.callId)) reject(signal.reason);
      }, { once: true });
    });
    const w = this.#waiters.shift();
    if (w) w(c);
    else this.#queue.push(c);
    return done;
  }

  /** The plugin process asks for work (long poll). */
  take(timeoutMs: number, signal: AbortSignal): Promise<PluginCall | null> {
    const c = this.#queue.shift();
    if (c || this.#closed) return Promise.resolve(c ?? null);
    return new Promise((resolve) => {
      const done = (v: PluginCall | null) => {
        clearTimeout(timer);
        const i = this.#waiters.indexOf(done);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve(v);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      signal.addEventListener("abort", () => done(null), { once: true });
      this.#waiters.push(done);
    });
  }

  /** The plugin process reports a result. */
  settle(callId: number, ok: boolean, value: unknown): void {
    const p = this.#pending.get(callId);
    if (!p) return;
    this.#pending.delete(callId);
    if (ok) p.resolve(value);
    else p.reject(new Error(`plugin ${this.plugin}: ${String(value)}`));
  }

  /** The plugin process is gone: fail everything in flight. */
  close(): void {
    this.#closed = true;
    for (const p of this.#pending.values()) p.reject(new Error(`plugin ${this.plugin} stopped`));
    this.#pending.clear();
    for (const w of this.#waiters.splice(0)) w(null);
  }
}
