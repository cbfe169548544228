/**
 * Trust scores per agent did: in memory, and persisted in a JSON file when one is given so they
 * survive host restarts. Every host keeps one (AgentHost creates an in-memory one by default).
 */
import { dirname } from "node:path";
import {
  applyEvent,
  applyValidEvent,
  decayed,
  DEFAULT_TRUST,
  type TrustConfig,
  TrustEvent,
  type TrustState,
} from "../../governance/trust/mod.ts";

interface StoreFile {
  v: 1;
  agents: Record<string, TrustState>;
}

export class TrustService {
  readonly path: string | undefined;
  readonly config: TrustConfig;
  #scores = new Map<string, TrustState>();
  #dirty = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Called with every event recorded here (fleet mode ships them: runtime/fleet/trust.ts). */
  onRecord: ((did: string, event: TrustEvent) => void) | undefined;

  constructor(path?: string, config: TrustConfig = DEFAULT_TRUST) {
    this.path = path;
    this.config = config;
    if (!path) return;
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    let file: StoreFile;
    try {
      file = JSON.parse(text);
    } catch {
      throw new Error(`${path}: the trust store is not valid JSON`);
    }
    for (const [did, s] of Object.entries(file.agents ?? {})) {
      if (Number.isFinite(s?.score) && Number.isFinite(s?.at) && s.score >= 0 && s.score <= 1000) {
        const e = s.earned;
        const earned = e && [e.window, e.allowed, e.outcomes].every(Number.isFinite)
          ? { window: e.window, allowed: e.allowed, outcomes: e.outcomes }
          : undefined;
        this.#scores.set(did, { score: s.score, at: s.at, ...(earned ? { earned } : {}) });
      } else throw new Error(`${path}: corrupt trust entry for ${did}`);
    }
  }

  /** The current (decayed) score of an agent; new agents start at the baseline (650). */
  score(did: string, now = Date.now()): number {
    const s = this.#scores.get(did);
    return s ? decayed(s, now, this.config) : this.config.baseline;
  }

  /** Whether a score was ever recorded for this did. */
  has(did: string): boolean {
    return this.#scores.has(did);
  }

  /** The stored state of a did (undefined when none was recorded). */
  state(did: string): TrustState | undefined {
    const s = this.#scores.get(did);
    return s && structuredClone(s);
  }

  /**
   * Replace a did's state with the fleet's (the database row is the truth in fleet mode);
   * returns the score before, at `now`.
   */
  adopt(did: string, state: TrustState, now = Date.now()): number {
    const before = this.score(did, now);
    this.#scores.set(did, structuredClone(state));
    this.#changed();
    return before;
  }

  /** Set a score (an operator's action). */
  set(did: string, score: number, now = Date.now()): void {
    if (!Number.isFinite(score) || score < 0 || score > 1000) {
      throw new Error("a trust score is 0..1000");
    }
    this.#scores.set(did, { score, at: now });
    this.#changed();
  }

  /**
   * Apply an event (validated by its schema); returns the scores before and after. The host's
   * own events are typed (`TrustEvent`) and skip the parse; anything else is parsed.
   */
  record(
    did: string,
    event: TrustEvent | unknown,
    valid = false,
  ): { before: number; after: number } {
    const at = (event as { at?: number })?.at ?? Date.now();
    const prior = this.#scores.get(did) ?? { score: this.config.baseline, at };
    const before = decayed(prior, at, this.config);
    const next = valid
      ? applyValidEvent(prior, event as TrustEvent, this.config)
      : applyEvent(prior, event, this.config);
    this.#scores.set(did, next);
    this.#changed();
    if (this.onRecord) {
      try {
        this.onRecord(did, valid ? event as TrustEvent : TrustEvent.parse(event));
      } catch { /* a sink must not break recording */ }
    }
    return { before, after: next.score };
  }

  #changed(): void {
    this.#dirty = true;
    if (this.path && this.#timer === null) {
      this.#timer = setTimeout(() => this.save(), 200);
      Deno.unrefTimer(this.#timer);
    }
  }

  /** Write the store atomically (0600). */
  save(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (!this.path || !this.#dirty) return;
    const file: StoreFile = { v: 1, agents: Object.fromEntries(this.#scores) };
    Deno.mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${Deno.pid}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(file) + "\n", { mode: 0o600 });
    Deno.renameSync(tmp, this.path);
    this.#dirty = false;
  }
}
