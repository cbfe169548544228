/**
 * What the SDK gateway and the permission broker share: a unix socket (mode 0600) that serves
 * only its first connection, and a token bucket for rate limits.
 */

/** A unix socket that serves its first connection; any later one is closed at once. */
export class OneConnectionSocket {
  readonly #listener: Deno.Listener;
  #conn: Deno.Conn | null = null;
  #closed = false;

  /**
   * Listen on `path`. `serve` gets the first connection; `onExtra` is told of each later one
   * (already closed) while the socket is open.
   */
  constructor(
    readonly path: string,
    serve: (conn: Deno.Conn) => void,
    onExtra?: () => void,
  ) {
    this.#listener = Deno.listen({ transport: "unix", path });
    Deno.chmodSync(path, 0o600);
    this.#accept(serve, onExtra);
  }

  /** The served connection, once there is one. */
  get conn(): Deno.Conn | null {
    return this.#conn;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async #accept(serve: (conn: Deno.Conn) => void, onExtra?: () => void): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        if (this.#conn || this.#closed) {
          conn.close();
          if (!this.#closed) onExtra?.();
          continue;
        }
        this.#conn = conn;
        serve(conn);
      }
    } catch { /* listener closed */ }
  }

  /** Stop listening, close the connection and remove the socket file. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch { /* closed */ }
    try {
      this.#conn?.close();
    } catch { /* closed */ }
    try {
      Deno.removeSync(this.path);
    } catch { /* gone */ }
  }
}

/** A token bucket: `rate` tokens a second, holding at most `burst`; it starts full. */
export class TokenBucket {
  #tokens: number;
  #refilled = performance.now();

  constructor(public rate: number, public burst: number) {
    this.#tokens = burst;
  }

  /** Change the rate (and the burst); the tokens held are capped at the new burst. */
  set(rate: number, burst: number): void {
    this.rate = rate;
    this.burst = burst;
    this.#tokens = Math.min(this.#tokens, burst);
  }

  /** Take one token if there is one. */
  take(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(
      this.burst,
      this.#tokens + ((now - this.#refilled) / 1000) * this.rate,
    );
    this.#refilled = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token (at least 1), after a failed `take`. */
  wait(): number {
    return Math.max(1, Math.ceil((1 - this.#tokens) * 1000 / this.rate));
  }
}
