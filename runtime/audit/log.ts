/** Append-only audit log: JSONL with a hash chain, buffered and flushed in order. */
import {
  type AuditEntry,
  type AuditFields,
  chainEntry,
  GENESIS,
} from "../../governance/audit/mod.ts";

/** Listener for entries as they are appended (console, SSE, trust…). */
export type AuditListener = (entry: AuditEntry) => void;

/**
 * The audit log. `append` chains and queues an entry synchronously (so the order is the
 * decision order); the queue is written to the file in batches. `flush()` resolves when
 * everything appended so far is written. Without a file, entries are only kept in memory.
 */
export class AuditLog {
  readonly path: string | undefined;
  #file: Deno.FsFile | undefined;
  #seq = 0;
  #prev = GENESIS;
  #queue: string[] = [];
  #writing: Promise<void> | null = null;
  #listeners = new Set<AuditListener>();
  #encoder = new TextEncoder();
  /** Recent entries kept in memory (at least the last `keep`). */
  readonly recent: AuditEntry[] = [];
  readonly #keep: number;
  readonly #batchMs: number;

  /**
   * `keep`: entries kept in `recent` (at least; trimmed in chunks). `batchMs`: how long a write
   * waits to gather more entries.
   */
  constructor(path?: string, options: { keep?: number; batchMs?: number } = {}) {
    this.path = path;
    this.#keep = options.keep ?? 10000;
    this.#batchMs = options.batchMs ?? 2;
    if (path) {
      const existing = readTail(path);
      if (existing) {
        this.#seq = existing.seq + 1;
        this.#prev = existing.hash;
      }
      this.#file = Deno.openSync(path, { append: true, create: true });
    }
  }

  /** Number of entries in the chain. */
  get size(): number {
    return this.#seq;
  }

  /** Subscribe to new entries; returns an unsubscribe function. */
  subscribe(fn: AuditListener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Chain and queue an entry; returns it. */
  append(fields: AuditFields): AuditEntry {
    const { entry, line } = chainEntry(fields, this.#seq++, this.#prev);
    this.#prev = entry.hash;
    this.recent.push(entry);
    // Trim in chunks: an append stays O(1) amortized.
    if (this.recent.length >= this.#keep * 2) {
      this.recent.splice(0, this.recent.length - this.#keep);
    }
    if (this.#file) {
      this.#queue.push(line);
      this.#writing ??= this.#drain();
    }
    for (const l of this.#listeners) {
      try {
        l(entry);
      } catch { /* a listener must not break auditing */ }
    }
    return entry;
  }

  async #drain(): Promise<void> {
    // Group commit: gather what arrives within a few milliseconds into one write.
    await new Promise((r) => setTimeout(r, this.#batchMs));
    while (this.#queue.length > 0 && this.#file) {
      const batch = this.#queue.join("");
      this.#queue = [];
      const bytes = this.#encoder.encode(batch);
      let off = 0;
      while (off < bytes.length) off += await this.#file.write(bytes.subarray(off));
    }
    this.#writing = null;
  }

  /** Resolve when every entry appended so far is written (and synced when `sync`). */
  async flush(sync = false): Promise<void> {
    while (this.#writing) await this.#writing;
    if (sync && this.#file) await this.#file.sync();
  }

  /** Flush and close the file. */
  async close(): Promise<void> {
    await this.flush(true);
    this.#file?.close();
    this.#file = undefined;
  }
}

/** The last entry of an existing log (to continue its chain), or null. */
function readTail(path: string): AuditEntry | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return null;
  }
  const lines = text.trimEnd().split("\n");
  const last = lines[lines.length - 1];
  if (!last) return null;
  try {
    return JSON.parse(last) as AuditEntry;
  } catch {
    throw new Error(
      `${path}: the last audit entry is not valid JSON; refusing to extend a damaged log`,
    );
  }
}
