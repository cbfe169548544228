/**
 * Chaos fault injection around tool and executor functions.
 *
 * A `Chaos` holds a zod-validated configuration of faults and a (seedable) random source.
 * `wrapTool(fn, chaos, { agent, tool })` returns a function with `fn`'s signature that, for the
 * configured percentage of calls (optionally only for some agents or tools), really:
 * - `latency`: waits `ms` before calling `fn` (cut short by the caller's AbortSignal);
 * - `error`: throws a `ChaosFault` with the configured message, without calling `fn`;
 * - `drop`: never answers: the promise rejects with the abort reason once the caller's signal
 *   aborts (with no signal it never settles);
 * - `timeout`: hangs for `timeoutMs` (the timeout to exceed) plus `overshootMs`, then throws a
 *   `ChaosFault` named `TimeoutError`; a caller's signal that aborts first rejects with its reason.
 *
 * Faults are rolled in configuration order, one random draw per applicable fault; `latency`
 * faults add up, the first terminal fault (`error`, `drop`, `timeout`) that hits ends the roll.
 * The caller's signal is found among the arguments: an `AbortSignal`, or an object with a
 * `signal` property (a `ToolContext`).
 * @module
 */
import { z } from "zod";

/** The kinds of injected fault. */
export const FAULT_KINDS = ["latency", "error", "drop", "timeout"] as const;
/** A kind of injected fault. */
export type FaultKind = typeof FAULT_KINDS[number];

const common = {
  /** Share of matching calls that get this fault, 0–100. */
  percent: z.number().min(0).max(100),
  /** Only for these agents (ids or names; `*` matches any run). All agents when absent. */
  agents: z.array(z.string().min(1)).optional(),
  /** Only for these tools (`*` matches any run). All tools when absent. */
  tools: z.array(z.string().min(1)).optional(),
};
const ms = z.number().int().min(0).max(3_600_000);

/** One configured fault (zod). */
export const ChaosFaultConfig = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("latency"), ...common, ms }),
  z.strictObject({
    kind: z.literal("error"),
    ...common,
    message: z.string().min(1).default("chaos: injected error"),
  }),
  z.strictObject({ kind: z.literal("drop"), ...common }),
  z.strictObject({
    kind: z.literal("timeout"),
    ...common,
    /** The timeout the call must exceed. */
    timeoutMs: ms,
    /** How far past `timeoutMs` the call hangs before failing itself. */
    overshootMs: ms.default(1),
  }),
]);
/** One configured fault. */
export type ChaosFaultConfig = z.infer<typeof ChaosFaultConfig>;

/** A chaos experiment's configuration (zod). */
export const ChaosConfig = z.strictObject({
  /** When false, calls pass through untouched (still counted). */
  enabled: z.boolean().default(true),
  /** Seed of the built-in PRNG, when no `random` is passed to `Chaos`. */
  seed: z.number().int().optional(),
  faults: z.array(ChaosFaultConfig).default([]),
});
/** A chaos experiment's configuration, defaults applied. */
export type ChaosConfig = z.infer<typeof ChaosConfig>;
/** A chaos experiment's configuration as written. */
export type ChaosConfigInput = z.input<typeof ChaosConfig>;

/** A deterministic PRNG (mulberry32) in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The error an injected `error` or `timeout` fault throws. */
export class ChaosFault extends Error {
  readonly kind: FaultKind;
  constructor(kind: FaultKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = kind === "timeout" ? "TimeoutError" : "ChaosFault";
  }
}

/** Counts per fault kind. */
export type FaultCounts = Record<FaultKind, number>;

/** What a chaos run did. */
export interface ChaosReport {
  /** Calls through wrapped functions. */
  calls: number;
  /** Calls that got at least one fault. */
  affectedCalls: number;
  /** Injected faults per kind. */
  faults: FaultCounts;
  /** Injected faults per kind, per tool. */
  byTool: Record<string, FaultCounts>;
  /** Injected faults per kind, per agent. */
  byAgent: Record<string, FaultCounts>;
}

/** Which SLOs held through a chaos run. */
export interface ResilienceScore {
  /** Percentage of SLOs that held, 0–100, rounded (100 when there are none). */
  score: number;
  held: string[];
  broken: string[];
}

/** Score a run from its SLO results. */
export function resilienceScore(sloResults: { name: string; held: boolean }[]): ResilienceScore {
  const held = sloResults.filter((s) => s.held).map((s) => s.name);
  const broken = sloResults.filter((s) => !s.held).map((s) => s.name);
  const score = sloResults.length === 0 ? 100 : Math.round((held.length * 100) / sloResults.length);
  return { score, held, broken };
}

/** The faults one call gets. */
export interface FaultPlan {
  latencyMs: number;
  terminal?: ChaosFaultConfig & { kind: "error" | "drop" | "timeout" };
  kinds: FaultKind[];
}

function zero(): FaultCounts {
  return { latency: 0, error: 0, drop: 0, timeout: 0 };
}

function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes("*")) return pattern === value;
  const re = new RegExp(
    "^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$",
  );
  return re.test(value);
}

function applies(list: string[] | undefined, ...values: (string | undefined)[]): boolean {
  if (!list) return true;
  return values.some((v) => v !== undefined && list.some((p) => globMatch(p, v)));
}

/** A chaos experiment: configuration, random source and the counts of what it injected. */
export class Chaos {
  readonly config: ChaosConfig;
  readonly random: () => number;
  #calls = 0;
  #affected = 0;
  #faults = zero();
  #byTool = new Map<string, FaultCounts>();
  #byAgent = new Map<string, FaultCounts>();

  constructor(config: ChaosConfigInput = {}, random?: () => number) {
    this.config = ChaosConfig.parse(config);
    this.random = random ??
      (this.config.seed !== undefined ? seededRandom(this.config.seed) : Math.random);
  }

  /** Roll the faults of one call and count them (`agents` match the id or the name). */
  plan(target: ChaosTarget): FaultPlan {
    this.#calls++;
    const plan: FaultPlan = { latencyMs: 0, kinds: [] };
    if (!this.config.enabled) return plan;
    for (const f of this.config.faults) {
      if (!applies(f.agents, target.agent, target.agentName)) continue;
      if (!applies(f.tools, target.tool)) continue;
      if (f.percent <= 0 || this.random() * 100 >= f.percent) continue;
      plan.kinds.push(f.kind);
      if (f.kind === "latency") plan.latencyMs += f.ms;
      else {
        plan.terminal = f;
        break;
      }
    }
    if (plan.kinds.length > 0) {
      this.#affected++;
      for (const k of plan.kinds) {
        this.#faults[k]++;
        if (target.tool !== undefined) this.#count(this.#byTool, target.tool, k);
        const who = target.agent ?? target.agentName;
        if (who !== undefined) this.#count(this.#byAgent, who, k);
      }
    }
    return plan;
  }

  /** Counts so far. */
  report(): ChaosReport {
    const obj = (m: Map<string, FaultCounts>) =>
      Object.fromEntries([...m.keys()].sort().map((k) => [k, { ...m.get(k)! }]));
    return {
      calls: this.#calls,
      affectedCalls: this.#affected,
      faults: { ...this.#faults },
      byTool: obj(this.#byTool),
      byAgent: obj(this.#byAgent),
    };
  }

  #count(m: Map<string, FaultCounts>, key: string, k: FaultKind): void {
    let c = m.get(key);
    if (!c) m.set(key, c = zero());
    c[k]++;
  }
}

/** The caller's AbortSignal among a call's arguments, if any. */
export function findSignal(args: readonly unknown[]): AbortSignal | undefined {
  for (const a of args) {
    if (a instanceof AbortSignal) return a;
    if (a && typeof a === "object" && "signal" in a) {
      const s = (a as { signal?: unknown }).signal;
      if (s instanceof AbortSignal) return s;
    }
  }
  return undefined;
}

/** The agent's id and name from a ToolContext among a call's arguments. */
function findAgent(args: readonly unknown[]): { agent?: string; agentName?: string } {
  for (const a of args) {
    if (a && typeof a === "object" && "agentId" in a) {
      const { agentId, agentName } = a as { agentId?: unknown; agentName?: unknown };
      if (typeof agentId === "string") {
        return { agent: agentId, agentName: typeof agentName === "string" ? agentName : undefined };
      }
    }
  }
  return {};
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted.", "AbortError");
}

/** Wait `ms`, rejecting with the signal's reason if it aborts first. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Never settle, unless the signal aborts: then reject with its reason. */
function hang(signal?: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (!signal) return;
    if (signal.aborted) return reject(abortReason(signal));
    signal.addEventListener("abort", () => reject(abortReason(signal)), { once: true });
  });
}

/**
 * Where a wrapped function sits: its agent's id and name (else those of a ToolContext
 * argument) and tool. A fault's `agents` match either the id or the name.
 */
export interface ChaosTarget {
  agent?: string;
  agentName?: string;
  tool?: string;
}

/**
 * Wrap a tool or executor function so that calls through it get the configured faults.
 * The result has `fn`'s signature and always returns a promise.
 */
export function wrapTool<A extends unknown[], R>(
  fn: (...args: A) => R | Promise<R>,
  chaos: Chaos,
  target: ChaosTarget = {},
): (...args: A) => Promise<Awaited<R>> {
  return async (...args: A): Promise<Awaited<R>> => {
    const who = target.agent !== undefined || target.agentName !== undefined
      ? target
      : findAgent(args);
    const plan = chaos.plan({ agent: who.agent, agentName: who.agentName, tool: target.tool });
    const signal = findSignal(args);
    const name = target.tool ?? "call";
    if (plan.latencyMs > 0) await sleep(plan.latencyMs, signal);
    const t = plan.terminal;
    if (t?.kind === "error") throw new ChaosFault("error", t.message);
    if (t?.kind === "drop") return await hang(signal);
    if (t?.kind === "timeout") {
      await sleep(t.timeoutMs + t.overshootMs, signal);
      throw new ChaosFault(
        "timeout",
        `chaos: ${name} timed out (hung ${
          t.timeoutMs + t.overshootMs
        } ms, timeout ${t.timeoutMs} ms)`,
      );
    }
    return await fn(...args);
  };
}
