/**
 * The saga journal: an append-only record of every saga transition. The storage interface is
 * narrow (`append`, `load`) so a networked store can implement it; `FileSagaJournal` is the
 * local one, a JSONL file fsync'd on every append.
 * @module
 */
import { dirname, join } from "node:path";
import { SagaRecord } from "../../governance/saga/mod.ts";

/** Durable storage for saga records. `append` resolves only once the record is durable. */
export interface SagaJournal {
  append(record: SagaRecord): Promise<void>;
  /** Every record, in append order. */
  load(): Promise<SagaRecord[]>;
}

/** The journal file of a host state directory. */
export function journalPath(stateDir: string): string {
  return join(stateDir, "sagas.jsonl");
}

/** Parse journal text: a torn (unterminated or unparsable) last line is dropped, any other bad line throws. */
export function parseJournal(text: string, path = "journal"): SagaRecord[] {
  const lines = text.split("\n");
  const last = lines.length - 1;
  const out: SagaRecord[] = [];
  lines.forEach((line, i) => {
    if (line === "") return;
    let r: SagaRecord | undefined;
    try {
      const p = SagaRecord.safeParse(JSON.parse(line));
      if (p.success) r = p.data;
    } catch { /* below */ }
    if (r) out.push(r);
    else if (i !== last) throw new Error(`${path}:${i + 1}: not a valid saga record`);
  });
  return out;
}

/** In-memory journal (tests, or a host without a state directory). */
export class MemorySagaJournal implements SagaJournal {
  readonly records: SagaRecord[] = [];
  append(record: SagaRecord): Promise<void> {
    this.records.push(structuredClone(record));
    return Promise.resolve();
  }
  load(): Promise<SagaRecord[]> {
    return Promise.resolve(structuredClone(this.records));
  }
}

/**
 * A JSONL file journal. Each append is one write(2) followed by fsync, so an acknowledged
 * record survives a kill -9 and a power loss. Opening it cuts off a torn last line left by a
 * crash mid-write, so new records never glue onto it.
 */
export class FileSagaJournal implements SagaJournal {
  readonly path: string;
  #file: Deno.FsFile | undefined;
  #encoder = new TextEncoder();
  #chain: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  #open(): Deno.FsFile {
    if (this.#file) return this.#file;
    Deno.mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const file = Deno.openSync(this.path, { read: true, write: true, create: true, mode: 0o600 });
    const bytes = Deno.readFileSync(this.path);
    const end = bytes.lastIndexOf(0x0a) + 1;
    if (end < bytes.length) {
      file.truncateSync(end);
      file.syncSync();
    }
    file.seekSync(0, Deno.SeekMode.End);
    this.#file = file;
    return file;
  }

  /** Write one line and fsync it; appends are serialized. */
  append(record: SagaRecord): Promise<void> {
    const line = this.#encoder.encode(JSON.stringify(record) + "\n");
    const next = this.#chain.then(() => {
      const file = this.#open();
      let off = 0;
      while (off < line.length) off += file.writeSync(line.subarray(off));
      file.syncSync();
    });
    this.#chain = next.catch(() => {});
    return next;
  }

  /** Read and parse the file (empty when it does not exist yet). */
  async load(): Promise<SagaRecord[]> {
    await this.#chain;
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    return parseJournal(text, this.path);
  }

  /** Close the file. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}
