/**
 * Append-only audit log: JSONL with a sha-256 hash chain, an RFC 6962 Merkle tree over the
 * lines, and signed checkpoints in a sidecar file (`<log>.checkpoints`).
 *
 * Durability policy: `append` queues; `commit` writes the queue with one write(2). Callers
 * commit before they acknowledge a decision (the broker and the gateway do), so a kill -9 of
 * the host never loses an acknowledged entry: it is in the kernel's page cache. The log and
 * the sidecar are fsync'd at every checkpoint (every `checkpointEvery` entries or
 * `checkpointMs` milliseconds, and at close), which bounds what a power loss can take.
 *
 * The Merkle tree is not on the decision path: an entry's chain hash (which the line carries)
 * is folded into the tree in a microtask after the append, i.e. after the caller has answered,
 * and before any checkpoint reads the tree. The line's bytes, and so what survives a kill,
 * are unchanged by this.
 */
import {
  type AuditEntry,
  type AuditFields,
  chainEntry,
  type Checkpoint,
  GENESIS,
  hex,
  MerkleFrontier,
  signCheckpoint,
  unhex,
} from "../../governance/audit/mod.ts";
import type { Signer } from "../../governance/identity/mod.ts";

/** Listener for entries as they are appended (console, SSE, trust…). */
export type AuditListener = (entry: AuditEntry) => void;

export interface AuditLogOptions {
  /** Entries kept in `recent` (at least; trimmed in chunks). */
  keep?: number;
  /** Host key that signs checkpoints (no checkpoints without it). */
  signer?: Signer;
  checkpointEvery?: number;
  checkpointMs?: number;
}

/** The sidecar that holds a log's signed checkpoints. */
export function checkpointPath(logPath: string): string {
  return `${logPath}.checkpoints`;
}

export class AuditLog {
  readonly path: string | undefined;
  #file: Deno.FsFile | undefined;
  #seq = 0;
  #prev = GENESIS;
  #queue: string[] = [];
  #scheduled = false;
  #listeners = new Set<AuditListener>();
  #encoder = new TextEncoder();
  #tree = new MerkleFrontier();
  /** Chain hashes appended but not yet folded into `#tree` (see `#fold`). */
  #unfolded: string[] = [];
  #signer: Signer | undefined;
  #checkpointEvery: number;
  #requested = 0;
  #checkpointing: Promise<Checkpoint | null> | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Recent entries kept in memory (at least the last `keep`). */
  readonly recent: AuditEntry[] = [];
  readonly #keep: number;

  constructor(path?: string, options: AuditLogOptions = {}) {
    this.path = path;
    this.#keep = options.keep ?? 10000;
    this.#signer = options.signer;
    this.#checkpointEvery = options.checkpointEvery ?? 1000;
    if (path) {
      this.#resume(path);
      this.#file = Deno.openSync(path, { append: true, create: true, mode: 0o600 });
      if (this.#signer) {
        const timer = setInterval(() => {
          if (this.#seq > this.#requested) this.checkpoint();
        }, options.checkpointMs ?? 1000);
        Deno.unrefTimer(timer);
        this.#timer = timer;
      }
    }
  }

  /** Continue an existing log: its chain head and Merkle tree. */
  #resume(path: string): void {
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      return;
    }
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    lines.forEach((line, i) => {
      let e: AuditEntry;
      try {
        e = JSON.parse(line);
      } catch {
        throw new Error(`${path}:${i + 1}: not valid JSON; refusing to extend a damaged audit log`);
      }
      this.#tree.append(unhex(e.hash));
      this.#seq = e.seq + 1;
      this.#prev = e.hash;
    });
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

  /** Chain and queue an entry; returns it. Call `commit()` before acknowledging it. */
  append(fields: AuditFields): AuditEntry {
    const { entry, line } = chainEntry(fields, this.#seq++, this.#prev);
    this.#prev = entry.hash;
    this.recent.push(entry);
    if (this.recent.length >= this.#keep * 2) {
      this.recent.splice(0, this.recent.length - this.#keep);
    }
    if (this.#file) {
      this.#unfolded.push(entry.hash);
      this.#queue.push(line);
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => {
          this.commit();
          this.#fold();
        });
      }
    }
    for (const l of this.#listeners) {
      try {
        l(entry);
      } catch { /* a listener must not break auditing */ }
    }
    return entry;
  }

  /**
   * Write every queued entry (one write). After it returns they survive a host kill -9.
   * Synchronous on purpose: one write(2) into the page cache, cheaper than an async op's thread
   * hop on the decision path (see runtime/broker/map.ts for the measurement).
   */
  commit(): void {
    this.#scheduled = false;
    if (!this.#file || this.#queue.length === 0) return;
    const q = this.#queue;
    const bytes = this.#encoder.encode(q.length === 1 ? q[0] : q.join(""));
    this.#queue = [];
    let off = 0;
    while (off < bytes.length) off += this.#file.writeSync(bytes.subarray(off));
    // With a file every entry is a leaf: the tree's size is the chain's (folded or not).
    if (this.#signer && this.#seq - this.#requested >= this.#checkpointEvery) {
      this.checkpoint();
    }
  }

  /** Fold the chain hashes appended since the last fold into the Merkle tree. */
  #fold(): void {
    const pending = this.#unfolded;
    if (pending.length === 0) return;
    this.#unfolded = [];
    for (const h of pending) this.#tree.append(unhex(h));
  }

  /**
   * Commit, then checkpoint the tree as it is now: fsync the log, sign (size, root, time) and
   * append the checkpoint to the sidecar, fsync'd. Checkpoints are written in order. Resolves
   * to the checkpoint (null without a signer or a file, or when nothing is new).
   */
  checkpoint(): Promise<Checkpoint | null> {
    if (!this.#file || !this.#signer || !this.path) return Promise.resolve(null);
    this.commit();
    this.#fold();
    const size = this.#tree.size;
    if (size <= this.#requested) return this.#checkpointing ?? Promise.resolve(null);
    this.#requested = size;
    const root = hex(this.#tree.root());
    const ts = new Date().toISOString();
    const file = this.#file;
    const next = (this.#checkpointing ?? Promise.resolve(null)).then(async () => {
      file.syncSync();
      const cp = await signCheckpoint(this.#signer!, size, root, ts);
      const side = Deno.openSync(checkpointPath(this.path!), {
        append: true,
        create: true,
        mode: 0o600,
      });
      try {
        side.writeSync(this.#encoder.encode(JSON.stringify(cp) + "\n"));
        side.syncSync();
      } finally {
        side.close();
      }
      return cp;
    });
    this.#checkpointing = next.catch(() => null);
    return next;
  }

  /** Commit, and fsync when `sync`. */
  async flush(sync = false): Promise<void> {
    this.commit();
    if (this.#checkpointing) await this.#checkpointing;
    if (sync) this.#file?.syncSync();
  }

  /** Commit, checkpoint (when signing), fsync and close. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#signer && this.#seq > this.#requested) await this.checkpoint();
    if (this.#checkpointing) await this.#checkpointing;
    await this.flush(true);
    this.#file?.close();
    this.#file = undefined;
  }
}
