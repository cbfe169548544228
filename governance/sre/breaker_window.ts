/** The sliding windows of a circuit breaker: the last N calls, or the calls of the last N seconds. */

/** Call counts in a window. */
export interface Totals {
  calls: number;
  failed: number;
  slow: number;
}

/** A sliding window of call outcomes. */
export interface Window {
  record(now: number, failed: boolean, slow: boolean): void;
  totals(now: number): Totals;
}

/** The last `size` calls, in a ring. */
export class CountWindow implements Window {
  #ring: Uint8Array; // bit 0: failed, bit 1: slow
  #next = 0;
  #filled = 0;
  #t: Totals = { calls: 0, failed: 0, slow: 0 };
  constructor(size: number) {
    this.#ring = new Uint8Array(size);
  }
  record(_now: number, failed: boolean, slow: boolean): void {
    const size = this.#ring.length;
    if (this.#filled === size) {
      const old = this.#ring[this.#next];
      this.#t.calls--;
      if (old & 1) this.#t.failed--;
      if (old & 2) this.#t.slow--;
    } else this.#filled++;
    this.#ring[this.#next] = (failed ? 1 : 0) | (slow ? 2 : 0);
    this.#next = (this.#next + 1) % size;
    this.#t.calls++;
    if (failed) this.#t.failed++;
    if (slow) this.#t.slow++;
  }
  totals(): Totals {
    return { ...this.#t };
  }
}

/** The calls of the last `size` seconds, one bucket per epoch second. */
export class TimeWindow implements Window {
  #buckets: { sec: number; calls: number; failed: number; slow: number }[];
  constructor(size: number) {
    this.#buckets = Array.from({ length: size }, () => ({ sec: -1, calls: 0, failed: 0, slow: 0 }));
  }
  record(now: number, failed: boolean, slow: boolean): void {
    const sec = Math.floor(now / 1000);
    const b = this.#buckets[
      ((sec % this.#buckets.length) + this.#buckets.length) %
      this.#buckets.length
    ];
    if (b.sec !== sec) Object.assign(b, { sec, calls: 0, failed: 0, slow: 0 });
    b.calls++;
    if (failed) b.failed++;
    if (slow) b.slow++;
  }
  totals(now: number): Totals {
    const sec = Math.floor(now / 1000);
    const t: Totals = { calls: 0, failed: 0, slow: 0 };
    for (const b of this.#buckets) {
      // A bucket counts while its second lies within (sec - size, sec].
      if (b.sec > sec - this.#buckets.length && b.sec <= sec) {
        t.calls += b.calls;
        t.failed += b.failed;
        t.slow += b.slow;
      }
    }
    return t;
  }
}
