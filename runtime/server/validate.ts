/**
 * Validation of untrusted policy text for `POST /api/policy/validate` (issue 16, class 12).
 * Compiling is CPU work an API caller controls: it runs in a Worker, one text at a time, so the
 * host's event loop keeps deciding for agents meanwhile. A text is refused when its YAML
 * aliases expand it to more than EXPANSION_PER_BYTE nodes per byte (alias bombs), when its
 * compilation outlives the deadline (the worker is terminated), or when too many texts are
 * already waiting. The worker is started for a burst of work and ended when idle.
 */

/** A validation outcome: compiled (with its rule count), problems, or refused (with why). */
export type Validation =
  | { ok: true; rules: number }
  | { ok: false; problems: string[] }
  | { ok: false; refused: string; status: 422 | 429 };

export interface ValidatorOptions {
  /** Longest a compilation may run (worker start excluded). Default 5000 ms. */
  deadlineMs?: number;
  /** Texts that may wait behind the one compiling. Default 4. */
  maxQueue?: number;
}

/** Nodes a policy may expand to per byte of its text (beyond a small allowance). */
export const EXPANSION_PER_BYTE = 8;
const EXPANSION_ALLOWANCE = 10_000;

/**
 * Why `data` (a parsed YAML document: aliases shared, not copied) expands too far for a text
 * of `bytes` characters, or null. Stops counting at the limit, so the walk itself is bounded.
 */
export function expansionProblem(data: unknown, bytes: number): string | null {
  const limit = EXPANSION_ALLOWANCE + EXPANSION_PER_BYTE * bytes;
  let nodes = 0;
  const stack: unknown[] = [data];
  while (stack.length > 0) {
    const v = stack.pop();
    if (++nodes > limit) {
      return `YAML aliases expand this ${bytes}-byte policy to more than ${limit} nodes ` +
        `(alias bomb?): refused`;
    }
    if (v !== null && typeof v === "object") {
      for (const x of Object.values(v as Record<string, unknown>)) stack.push(x);
    }
  }
  return null;
}

interface Job {
  id: number;
  text: string;
  path: string;
  done: (v: Validation) => void;
}

export class PolicyValidator {
  #worker: Worker | null = null;
  #ready = false;
  #queue: Job[] = [];
  #current: Job | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #seq = 0;
  readonly deadlineMs: number;
  readonly maxQueue: number;

  constructor(o: ValidatorOptions = {}) {
    this.deadlineMs = o.deadlineMs ?? 5000;
    this.maxQueue = o.maxQueue ?? 4;
  }

  /** Validate `text` off the event loop. Never throws. */
  validate(text: string, path: string): Promise<Validation> {
    if (this.#queue.length >= this.maxQueue) {
      return Promise.resolve({
        ok: false,
        refused: `${
          this.#queue.length + 1
        } policy validations are already in progress; retry later`,
        status: 429,
      });
    }
    return new Promise((done) => {
      this.#queue.push({ id: ++this.#seq, text, path, done });
      this.#pump();
    });
  }

  /** End the worker and refuse what waits (host shutdown). */
  close(): void {
    for (const j of [this.#current, ...this.#queue]) {
      j?.done({ ok: false, refused: "the host is shutting down", status: 422 });
    }
    this.#queue = [];
    this.#current = null;
    this.#stop();
  }

  #pump(): void {
    if (this.#current || this.#queue.length === 0) {
      if (!this.#current && this.#queue.length === 0) this.#stop();
      return;
    }
    if (!this.#worker) this.#start();
    if (!this.#ready) return; // sent once the worker says it is ready
    const job = this.#queue.shift()!;
    this.#current = job;
    this.#timer = setTimeout(() => {
      // Terminating is the only way to stop a compilation; the next job gets a fresh worker.
      this.#finish(job, {
        ok: false,
        refused: `validation did not finish within ${this.deadlineMs} ms: refused`,
        status: 422,
      });
      this.#stop();
      this.#pump();
    }, this.deadlineMs);
    this.#worker!.postMessage({ id: job.id, text: job.text, path: job.path });
  }

  #start(): void {
    const w = new Worker(new URL("./validate_worker.ts", import.meta.url), { type: "module" });
    this.#worker = w;
    this.#ready = false;
    w.onmessage = (e: MessageEvent) => {
      if (w !== this.#worker) return;
      const m = e.data as { ready?: true; id?: number } & Record<string, unknown>;
      if (m.ready) {
        this.#ready = true;
        return this.#pump();
      }
      const job = this.#current;
      if (!job || m.id !== job.id) return;
      this.#finish(
        job,
        m.ok === true
          ? { ok: true, rules: Number(m.rules) }
          : { ok: false, problems: (m.problems as string[]).slice(0, 100) },
      );
      this.#pump();
    };
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      if (w !== this.#worker) return;
      const job = this.#current;
      const starting = !this.#ready;
      this.#stop();
      const why: Validation = {
        ok: false,
        refused: `validation failed: ${e.message}`,
        status: 422,
      };
      if (job) this.#finish(job, why);
      // A worker that cannot start would fail again: refuse what waits instead of retrying.
      if (starting) { for (const j of this.#queue.splice(0)) j.done(why); }
      this.#pump();
    };
  }

  #finish(job: Job, v: Validation): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#current === job) this.#current = null;
    job.done(v);
  }

  #stop(): void {
    this.#worker?.terminate();
    this.#worker = null;
    this.#ready = false;
  }
}
