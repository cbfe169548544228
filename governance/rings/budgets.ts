/**
 * Resource budgets per ring: resident memory, disk growth (workspace and the agent's own
 * deno_dir together), processes/threads, CPU share, broker permission checks per second, and
 * the denial-flood kill. Every ring always has every budget: a rings file may tighten or loosen
 * them, an agent's spec may override them, but nothing is ever unbounded. Pure: the host
 * decides which layer (cgroup, rlimit, watchdog, broker) enforces each.
 */
import { z } from "zod";
import type { Ring } from "./ceiling.ts";

/** One ring's budgets, in plain units. */
export interface Budgets {
  /** Resident memory of the agent's processes (bytes). */
  memoryBytes: number;
  /** How much the workspace and the agent's deno_dir may grow together (bytes). */
  diskBytes: number;
  /** Processes and threads (tasks) at once. */
  pids: number;
  /** CPUs' worth of processor time at once (0.5: half of one CPU; a cgroup quota). */
  cpu: number;
  /** Permission-broker checks per second (one second's worth may come in a burst). */
  brokerRate: number;
  /** Kill after `count` broker denials within `windowMs`. */
  denialFlood: { count: number; windowMs: number };
}

const KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024, TiB = GiB * 1024;
/** The largest size a budget may name (a typo such as "5000GiB" is refused). */
export const MAX_BYTES = TiB;

/** The built-in defaults (the shipped `policies/rings.yaml` states the same values). */
export const DEFAULT_BUDGETS: Readonly<Record<Ring, Budgets>> = {
  0: {
    memoryBytes: 4 * GiB,
    diskBytes: 16 * GiB,
    pids: 1024,
    cpu: 8,
    brokerRate: 5000,
    denialFlood: { count: 1000, windowMs: 10_000 },
  },
  1: {
    memoryBytes: 2 * GiB,
    diskBytes: 4 * GiB,
    pids: 512,
    cpu: 4,
    brokerRate: 2000,
    denialFlood: { count: 500, windowMs: 10_000 },
  },
  2: {
    memoryBytes: GiB,
    diskBytes: GiB,
    pids: 256,
    cpu: 2,
    brokerRate: 2000,
    denialFlood: { count: 200, windowMs: 10_000 },
  },
  3: {
    memoryBytes: 512 * MiB,
    diskBytes: 256 * MiB,
    pids: 128,
    cpu: 1,
    brokerRate: 500,
    denialFlood: { count: 100, windowMs: 10_000 },
  },
};

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: KiB,
  kb: 1000,
  kib: KiB,
  m: MiB,
  mb: 1000 ** 2,
  mib: MiB,
  g: GiB,
  gb: 1000 ** 3,
  gib: GiB,
  t: TiB,
  tb: 1000 ** 4,
  tib: TiB,
};

/** Bytes of a size such as `512MiB`, `1.5 GiB`, `64m` or a plain number; null when invalid. */
export function parseSize(v: unknown): number | null {
  let n: number;
  if (typeof v === "number") n = v;
  else if (typeof v === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v);
    const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
    if (!m || unit === undefined) return null;
    n = Math.round(Number(m[1]) * unit);
  } else return null;
  return Number.isSafeInteger(n) && n > 0 && n <= MAX_BYTES ? n : null;
}

const SIZE_ERROR = "expected a size such as 512MiB or 2GiB (more than 0, at most 1TiB)";
const Size = z.union([z.number(), z.string()], { error: SIZE_ERROR }).transform((v, ctx) => {
  const n = parseSize(v);
  if (n === null) {
    ctx.addIssue({ code: "custom", message: SIZE_ERROR });
    return z.NEVER;
  }
  return n;
});
const count = (max: number) =>
  z.number({ error: `expected a whole number from 1 to ${max}` }).int({
    error: `expected a whole number from 1 to ${max}`,
  }).min(1, { error: `expected a whole number from 1 to ${max}` }).max(max, {
    error: `expected a whole number from 1 to ${max}`,
  });
/** The most CPUs a budget may name. */
export const MAX_CPUS = 1024;
const CPU_ERROR = `expected a number of CPUs from 0.01 to ${MAX_CPUS} (0.5: half of one CPU)`;
const Cpus = z.number({ error: CPU_ERROR }).min(0.01, { error: CPU_ERROR }).max(MAX_CPUS, {
  error: CPU_ERROR,
});
const Flood = z.strictObject({ count: count(1_000_000), windowMs: count(86_400_000) });

/** One ring's budgets as written in a rings file (every key optional: defaults fill in). */
export const RingBudgetsYaml = z.strictObject({
  memory: Size.optional(),
  disk: Size.optional(),
  pids: count(1_000_000).optional(),
  cpu: Cpus.optional(),
  brokerRate: count(1_000_000).optional(),
  denialFlood: Flood.optional(),
});
export type RingBudgetsYaml = z.output<typeof RingBudgetsYaml>;

/** The `budgets:` section of a rings file: per ring, each optional. */
export const BudgetsSection = z.strictObject({
  0: RingBudgetsYaml.optional(),
  1: RingBudgetsYaml.optional(),
  2: RingBudgetsYaml.optional(),
  3: RingBudgetsYaml.optional(),
});
export type BudgetsSection = z.output<typeof BudgetsSection>;

/** Per-agent overrides (`AgentSpec.budgets`), in plain units. */
export const BudgetOverrides = z.strictObject({
  memoryBytes: count(MAX_BYTES).optional(),
  diskBytes: count(MAX_BYTES).optional(),
  pids: count(1_000_000).optional(),
  cpu: Cpus.optional(),
  brokerRate: count(1_000_000).optional(),
  denialFlood: Flood.optional(),
});
export type BudgetOverrides = z.infer<typeof BudgetOverrides>;

function fromYaml(y: RingBudgetsYaml | undefined): BudgetOverrides {
  const out: BudgetOverrides = {};
  if (!y) return out;
  if (y.memory !== undefined) out.memoryBytes = y.memory;
  if (y.disk !== undefined) out.diskBytes = y.disk;
  if (y.pids !== undefined) out.pids = y.pids;
  if (y.cpu !== undefined) out.cpu = y.cpu;
  if (y.brokerRate !== undefined) out.brokerRate = y.brokerRate;
  if (y.denialFlood !== undefined) out.denialFlood = y.denialFlood;
  return out;
}

/** Parse one ring's budgets in rings-file form (`{ memory: "64MiB" }`); throws on invalid. */
export function parseBudgets(v: unknown): BudgetOverrides {
  const r = RingBudgetsYaml.safeParse(v);
  if (!r.success) {
    throw new Error(
      r.error.issues.map((i) => `${i.path.join(".") || "budgets"}: ${i.message}`).join("; "),
    );
  }
  return fromYaml(r.data);
}

/** A ring's budgets: the rings file's section over the built-in defaults. */
export function ringBudgets(section: BudgetsSection | undefined, ring: Ring): Budgets {
  return { ...DEFAULT_BUDGETS[ring], ...fromYaml(section?.[ring]) };
}

/**
 * An agent's budgets: its ring's, then the agent's overrides. Throws an Error naming the field
 * when an override is not a finite positive whole number within range.
 */
export function agentBudgets(base: Budgets, overrides: unknown): Budgets {
  if (overrides === undefined) return { ...base };
  const r = BudgetOverrides.safeParse(overrides);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`budget ${i.path.join(".") || "budgets"}: ${i.message}`);
  }
  const o = Object.fromEntries(Object.entries(r.data).filter(([, v]) => v !== undefined));
  return { ...base, ...o };
}
