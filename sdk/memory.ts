/**
 * Agent memory kept by the host: every op is decided (`memory.read`, `memory.write`,
 * `memory.delete` on `namespace/key`) and audited with the value's SHA-256. The namespace is
 * the agent's own (its did) unless a shared one the policy allows is named. Each value comes
 * back with its provenance (writer, ring and trust at write time, declared source, time, hash),
 * so a framework can show the model where a memory came from. A write the policy or host
 * quarantines is stored but withheld from readers until an operator releases it.
 * @module
 */
import { call } from "./channel.ts";
import type { MemoryEntry, MemoryProvenance, MemoryPut } from "./types.ts";

export type { MemoryEntry, MemoryProvenance, MemoryPut };

/** Where a value came from, as the agent declares it (the host records everything else). */
export interface MemorySource {
  kind: MemoryProvenance["source"]["kind"];
  /** The tool name, URL, message sender or other reference. */
  ref?: string;
}

/** Options of `memory.put`. */
export interface PutOptions {
  /** A shared namespace the policy allows (default: this agent's own). */
  namespace?: string;
  /** Expire after this many milliseconds. */
  ttlMs?: number;
  tags?: string[];
  source?: MemorySource;
}

/** Options of `memory.list` and `memory.search`. */
export interface FindOptions {
  namespace?: string;
  /** Keys starting with this. */
  prefix?: string;
  /** Entries carrying every one of these tags. */
  tags?: string[];
  /** At most this many (1..1000, default 100), in key order. */
  limit?: number;
}

const ns = (namespace?: string) => namespace === undefined ? {} : { namespace };

export const memory = {
  /** Store `value` (JSON) under `key`; says whether it was quarantined. */
  async put(key: string, value: unknown, o: PutOptions = {}): Promise<MemoryPut> {
    return await call("memory.put", {
      key,
      value: value ?? null,
      ...ns(o.namespace),
      ...(o.ttlMs === undefined ? {} : { ttlMs: o.ttlMs }),
      ...(o.tags === undefined ? {} : { tags: o.tags }),
      ...(o.source === undefined ? {} : { source: o.source }),
    });
  },
  /** The entry of `key` with its provenance, or null (none, expired, or withheld). */
  async get(key: string, o: { namespace?: string } = {}): Promise<MemoryEntry | null> {
    return await call("memory.get", { key, ...ns(o.namespace) });
  },
  /** Entries by key prefix and tags. */
  async list(o: FindOptions = {}): Promise<MemoryEntry[]> {
    return await call("memory.list", { ...o });
  },
  /** Entries whose key or value text contains `text` (a substring). */
  async search(text: string, o: FindOptions = {}): Promise<MemoryEntry[]> {
    return await call("memory.search", { ...o, text });
  },
  /** Delete the entry of `key`; true when there was one. */
  async delete(key: string, o: { namespace?: string } = {}): Promise<boolean> {
    return await call("memory.delete", { key, ...ns(o.namespace) });
  },
};
