/**
 * Governed agent memory: every SDK memory op is one authorize step (`memory.read`,
 * `memory.write`, `memory.delete`; resource `namespace/key`; args with the namespace, size,
 * tags, declared source and provenance), audited with the content's SHA-256, never the value.
 *
 * Poisoning defences: the policy may refuse a write by its provenance (`args.provenance.trust`,
 * `args.source.kind`); a `require_approval` on `memory.write` is **quarantine** (the write is
 * stored but withheld from every reader until an operator releases it: the release is the
 * approval), and so is the host setting `quarantine` (writers below a trust score, or declaring
 * an untrusted source kind). Reads are filtered by the policy on each entry's provenance, and an
 * entry whose bytes no longer match its hash or seal is withheld and audited (`memory.integrity`).
 */
import { dirname, join } from "node:path";
import { type AgentRef, type Governor, refusalMessage, type Refused } from "../governor.ts";
import { ToolRefusal } from "../executors/runner.ts";
import { keyProblem, prefixProblem, resolveNamespace } from "./names.ts";
import {
  contentHash,
  type MemoryBackend,
  MemoryStore,
  type Provenance,
  type Quota,
  QuotaError,
  type SourceKind,
  type StoredEntry,
} from "./store.ts";

/** Host settings of agent memory (`HostOptions.memory`). */
export interface MemoryOptions {
  /** The database (default `<stateDir>/memory.db`; its sealing key is `<path>.key`). */
  path?: string;
  /**
   * Per-namespace limits of visible entries (default 100 000 entries, 256 MiB); quarantined
   * entries have their own limits, a tenth of these.
   */
  quota?: Partial<Quota>;
  /** Largest value (bytes of its JSON text; default 256 KiB). */
  maxValueBytes?: number;
  /**
   * Quarantine writes by agents whose trust is below `belowTrust` (default 500: probationary
   * and untrusted) or that declare a source kind in `sources` (default none).
   */
  quarantine?: { belowTrust?: number; sources?: SourceKind[] };
  /** The clock (ms since the epoch), for TTLs and provenance. */
  now?: () => number;
}

/** Most bytes of values one list or search returns (the reply stays under the wire's cap). */
export const MAX_LIST_BYTES = 4 * 1024 * 1024;

export const MEMORY_DEFAULTS = {
  quota: { entries: 100_000, bytes: 256 * 1024 * 1024 },
  maxValueBytes: 256 * 1024,
  belowTrust: 500,
};

/** A memory op refused or failed (the wire's Refusal, thrown; the tool runner's shape). */
export class MemoryRefusal extends ToolRefusal {
  override name = "MemoryRefusal";
}

/** Throw the refusal of an authorize step. */
function refusedBy(r: Refused): never {
  throw new MemoryRefusal(r.code, refusalMessage(r), r.rule, r.ruleReason);
}

/** An entry as a reader receives it: the value with its provenance. */
export interface MemoryEntry {
  namespace: string;
  key: string;
  value: unknown;
  tags: string[];
  provenance: Provenance;
  expiresAt: number | null;
}

/** What a write reports back. */
export interface PutResult {
  namespace: string;
  key: string;
  sha256: string;
  /** Stored, but withheld from readers until an operator releases it. */
  quarantined: boolean;
}

type Source = { kind: SourceKind; ref?: string };
export interface PutRequest {
  namespace?: string;
  key: string;
  value: unknown;
  ttlMs?: number;
  tags?: string[];
  source?: Source;
}
export interface KeyRequest {
  namespace?: string;
  key: string;
}
export interface FindRequest {
  namespace?: string;
  prefix?: string;
  tags?: string[];
  text?: string;
  limit?: number;
}

function toWire(e: StoredEntry): MemoryEntry {
  return {
    namespace: e.namespace,
    key: e.key,
    value: JSON.parse(e.value),
    tags: e.tags,
    provenance: e.provenance,
    expiresAt: e.expiresAt,
  };
}

export class MemoryService {
  readonly path: string;
  #store: MemoryBackend | null = null;
  /** The store was opened here (the SQLite file), not handed over by {@link use}. */
  #owned = false;
  readonly #quota: Quota;
  /** The quota of quarantined entries. */
  readonly #held: Quota;
  readonly #maxValue: number;
  readonly #belowTrust: number;
  readonly #sources: ReadonlySet<SourceKind>;
  readonly #now: () => number;

  constructor(readonly governor: Governor, stateDir: string, o: MemoryOptions = {}) {
    this.path = o.path ?? join(stateDir, "memory.db");
    this.#quota = { ...MEMORY_DEFAULTS.quota, ...o.quota };
    this.#maxValue = o.maxValueBytes ?? MEMORY_DEFAULTS.maxValueBytes;
    this.#held = {
      entries: Math.max(1, Math.floor(this.#quota.entries / 10)),
      bytes: Math.max(this.#maxValue, Math.floor(this.#quota.bytes / 10)),
    };
    this.#belowTrust = o.quarantine?.belowTrust ?? MEMORY_DEFAULTS.belowTrust;
    this.#sources = new Set(o.quarantine?.sources ?? []);
    this.#now = o.now ?? Date.now;
  }

  /**
   * The store: the one {@link use} gave (fleet mode: the fleet database's), else the SQLite
   * file, opened on first use (a host whose agents keep no memory opens nothing).
   */
  get store(): MemoryBackend {
    if (!this.#store) {
      Deno.mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      this.#store = new MemoryStore(this.path);
      this.#owned = true;
    }
    return this.#store;
  }

  /**
   * Keep entries in `backend` from now on (fleet mode selects the fleet database's store this
   * way before any agent starts); its owner closes it. The SQLite file, if opened, is closed.
   */
  use(backend: MemoryBackend): void {
    if (this.#owned) this.#store?.close();
    this.#store = backend;
    this.#owned = false;
  }

  /**
   * Run one store call; a store that fails (the fleet database down, past its deadline, a disk
   * error) is an audited refusal naming the store: memory fails closed, it never hangs.
   */
  async #call<T>(
    agent: AgentRef,
    action: string,
    resource: string,
    f: (s: MemoryBackend) => T | Promise<T>,
  ): Promise<T> {
    try {
      return await f(this.store);
    } catch (e) {
      if (e instanceof QuotaError || e instanceof MemoryRefusal) throw e;
      const why = String((e as Error)?.message ?? e).split("\n")[0].slice(0, 300);
      this.#refuse(agent, action, resource, "failed", `memory store unavailable: ${why}`);
    }
  }

  /** Audit a refusal made here (bad namespace or key, quota) and throw it. */
  #refuse(
    agent: AgentRef,
    action: string,
    resource: string,
    code: ToolRefusal["code"],
    reason: string,
  ): never {
    this.governor.record(agent, { path: "sdk", action, resource: resource.slice(0, 600) }, {
      effect: "deny",
      rule: null,
      reason,
    });
    throw new MemoryRefusal(code, reason);
  }

  /** The namespace and key of a request, or an audited refusal. */
  #where(agent: AgentRef, action: string, ns: string | undefined, key: string) {
    const where = resolveNamespace(agent.id, ns);
    const resource = `${ns ?? agent.id}/${key}`;
    if (!where.ok) {
      this.#refuse(agent, action, resource, where.denied ? "denied" : "invalid", where.reason);
    }
    const bad = keyProblem(key);
    if (bad) this.#refuse(agent, action, resource, "invalid", bad);
    return { namespace: where.name, own: where.own, resource: `${where.name}/${key}` };
  }

  /** Withhold an entry that is not intact: audited, never returned. */
  #intact(agent: AgentRef, e: StoredEntry | null): StoredEntry | null {
    if (!e || e.intact) return e;
    this.governor.record(agent, {
      path: "host",
      action: "memory.integrity",
      resource: `${e.namespace}/${e.key}`,
    }, {
      effect: "deny",
      rule: null,
      reason: `memory entry ${e.id} no longer matches its hash or seal (modified outside ` +
        "Warden): withheld",
    }, { entry: e.id, sha256: e.provenance.sha256 });
    return null;
  }

  /** Why the host setting quarantines a write (null: it does not). */
  #hostQuarantine(agent: AgentRef, source: SourceKind): string | null {
    if (agent.trust < this.#belowTrust) {
      return `host setting: writer trust ${agent.trust} below ${this.#belowTrust}`;
    }
    if (this.#sources.has(source)) return `host setting: untrusted source kind ${source}`;
    return null;
  }

  async put(agent: AgentRef, req: PutRequest): Promise<PutResult> {
    const w = this.#where(agent, "memory.write", req.namespace, req.key);
    const text = JSON.stringify(req.value ?? null);
    const bytes = new TextEncoder().encode(text).length;
    if (bytes > this.#maxValue) {
      this.#refuse(
        agent,
        "memory.write",
        w.resource,
        "invalid",
        `value larger than ${this.#maxValue} bytes`,
      );
    }
    const now = this.#now();
    const source = { kind: req.source?.kind ?? "agent", ref: req.source?.ref ?? null };
    const sha256 = contentHash(text);
    const tags = [...new Set(req.tags ?? [])];
    const provenance = {
      writer: agent.id,
      writerName: agent.name,
      ring: agent.ring,
      trust: agent.trust,
      source,
      at: now,
    };
    const { refused } = await this.governor.authorize(agent, {
      path: "sdk",
      action: "memory.write",
      resource: w.resource,
      args: {
        namespace: w.namespace,
        own: w.own,
        key: req.key,
        bytes,
        tags,
        source,
        ttlMs: req.ttlMs ?? null,
        provenance: { ...provenance, sha256 },
      },
    }, { extra: { sha256, bytes } });
    // require_approval on memory.write means quarantine: no approver is asked.
    let note = refused?.code === "approval_required"
      ? `policy${refused.rule ? ` rule ${refused.rule}` : ""}: ${
        refused.ruleReason ?? refused.reason
      }`
      : null;
    if (refused && note === null) {
      refusedBy(refused);
    }
    note ??= this.#hostQuarantine(agent, source.kind);
    let stored: StoredEntry;
    try {
      stored = await this.#call(agent, "memory.write", w.resource, (s) =>
        s.put(
          {
            namespace: w.namespace,
            key: req.key,
            value: text,
            tags,
            provenance,
            expiresAt: req.ttlMs !== undefined ? now + req.ttlMs : null,
            status: note === null ? "visible" : "quarantined",
            note,
          },
          note === null ? this.#quota : this.#held,
          now,
        ));
    } catch (e) {
      // Allowed, but the namespace is full: audited as a refusal of the host's own limit.
      if (e instanceof QuotaError) {
        this.#refuse(agent, "memory.write", w.resource, "busy", e.message);
      }
      throw e;
    }
    if (note !== null) {
      this.governor.record(agent, {
        path: "host",
        action: "memory.quarantine",
        resource: w.resource,
      }, {
        effect: "deny",
        rule: refused?.rule ?? null,
        reason: `stored as entry ${stored.id}, withheld from readers until released (${note})`,
      }, { entry: stored.id, sha256 });
    }
    return { namespace: w.namespace, key: req.key, sha256, quarantined: note !== null };
  }

  async get(agent: AgentRef, req: KeyRequest): Promise<MemoryEntry | null> {
    const w = this.#where(agent, "memory.read", req.namespace, req.key);
    const now = this.#now();
    const found = await this.#call(
      agent,
      "memory.read",
      w.resource,
      (s) => s.visible(w.namespace, req.key, now),
    );
    const e = this.#intact(agent, found);
    await this.#authorize(agent, "memory.read", w, req.key, e);
    return e ? toWire(e) : null;
  }

  async delete(agent: AgentRef, req: KeyRequest): Promise<boolean> {
    const w = this.#where(agent, "memory.delete", req.namespace, req.key);
    const now = this.#now();
    const e = await this.#call(
      agent,
      "memory.delete",
      w.resource,
      (s) => s.visible(w.namespace, req.key, now),
    );
    await this.#authorize(agent, "memory.delete", w, req.key, e);
    if (!e) return false;
    return await this.#call(
      agent,
      "memory.delete",
      w.resource,
      (s) => s.deleteVisible(w.namespace, req.key),
    );
  }

  /**
   * List (`text` unset) or search: one decision for the query (resource `namespace/prefix`,
   * args without `provenance`), then each entry is filtered by the same policy on its own
   * provenance (as a `get` of it would be): entries it would not allow are withheld.
   */
  async find(agent: AgentRef, req: FindRequest): Promise<MemoryEntry[]> {
    const prefix = req.prefix ?? "";
    const where = resolveNamespace(agent.id, req.namespace);
    const resource = `${req.namespace ?? agent.id}/${prefix}`;
    if (!where.ok) {
      this.#refuse(
        agent,
        "memory.read",
        resource,
        where.denied ? "denied" : "invalid",
        where.reason,
      );
    }
    const bad = prefixProblem(prefix);
    if (bad) this.#refuse(agent, "memory.read", resource, "invalid", bad);
    const w = { namespace: where.name, own: where.own, resource: `${where.name}/${prefix}` };
    const query = { prefix, tags: req.tags ?? [], text: req.text ?? null };
    const { refused } = await this.governor.authorize(agent, {
      path: "sdk",
      action: "memory.read",
      resource: w.resource,
      args: { namespace: w.namespace, own: w.own, query },
    });
    if (refused) {
      refusedBy(refused);
    }
    const now = this.#now();
    const found = await this.#call(agent, "memory.read", w.resource, (s) =>
      s.find(w.namespace, {
        prefix,
        tags: req.tags,
        text: req.text,
        limit: req.limit ?? 100,
        maxBytes: MAX_LIST_BYTES,
      }, now));
    const out: MemoryEntry[] = [];
    for (const e of found) {
      if (!this.#intact(agent, e)) continue;
      if (this.#allows(agent, "memory.read", w, e)) out.push(toWire(e));
    }
    return out;
  }

  #args(w: { namespace: string; own: boolean }, key: string, e: StoredEntry | null) {
    return {
      namespace: w.namespace,
      own: w.own,
      key,
      ...(e ? { bytes: e.bytes, tags: e.tags, provenance: e.provenance } : {}),
    };
  }

  async #authorize(
    agent: AgentRef,
    action: string,
    w: { namespace: string; own: boolean; resource: string },
    key: string,
    e: StoredEntry | null,
  ): Promise<void> {
    const { refused } = await this.governor.authorize(agent, {
      path: "sdk",
      action,
      resource: w.resource,
      args: this.#args(w, key, e),
    }, { extra: e ? { sha256: e.provenance.sha256 } : { found: false } });
    if (refused) {
      refusedBy(refused);
    }
  }

  /** Would the ceilings and the live policy allow reading this entry? (Not audited: a filter.) */
  #allows(
    agent: AgentRef,
    action: string,
    w: { namespace: string; own: boolean },
    e: StoredEntry,
  ): boolean {
    const g = this.governor;
    try {
      const req = g.request(agent, {
        path: "sdk",
        action,
        resource: `${w.namespace}/${e.key}`,
        args: this.#args(w, e.key, e),
      });
      if (g.rings.check(req) ?? agent.caps?.check(req)) return false;
      return g.policy.evaluate(req).effect === "allow";
    } catch {
      return false;
    }
  }

  /** Close the store if it was opened here (a store given by {@link use} is its owner's). */
  close(): void {
    if (this.#owned) this.#store?.close();
    this.#store = null;
    this.#owned = false;
  }
}
