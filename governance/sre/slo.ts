/**
 * SLO documents (`kind: SLOs`): YAML -> validated, compiled SLOs, every problem at
 * file:line:col (same helpers and `PolicyError` as the policy compiler). Pure: no I/O, no clock.
 */
import { z } from "zod";
import { PolicyError, type Problem } from "../policy/errors.ts";
import { parseYamlSource, type PathPart, zodProblems } from "../policy/parse.ts";

/** What a "good" event is: a successful operation, a fast one, or an allowed decision. */
export type SloKind = "success" | "latency" | "compliance";

/** An alert severity: page wakes someone, ticket is for working hours. */
export type Severity = "page" | "ticket";

/** What the host should do when an SLO is breached. */
export type SloAction =
  | { type: "alert" }
  | { type: "throttle"; rate: number }
  | { type: "demote" }
  | { type: "kill" }
  | { type: "freeze_rollouts" };
export const ACTION_TYPES = ["alert", "throttle", "demote", "kill", "freeze_rollouts"] as const;

/** One multiwindow burn-rate alert row: fires when both windows burn at >= `burn`. */
export interface AlertRow {
  severity: Severity;
  /** Burn-rate threshold (1 = spending the budget exactly over the SLO window). */
  burn: number;
  /** Long window, ms. */
  longMs: number;
  /** Short window, ms (must be shorter than the long one). */
  shortMs: number;
}

/** Which traffic an SLO measures; an empty scope is the whole host. */
export interface SloScope {
  agent?: string;
  tool?: string;
}

/** A compiled SLO. */
export interface Slo {
  name: string;
  kind: SloKind;
  scope: SloScope;
  /** Fraction of good events required, 0 < target < 1. */
  target: number;
  /** 1 - target, rounded to 12 significant digits so 0.99 gives exactly 0.01. */
  errorBudget: number;
  /** SLO (budget) window, ms. */
  windowMs: number;
  /** Latency SLOs only: an operation is good when its latency is <= this many ms. */
  thresholdMs?: number;
  alerts: readonly AlertRow[];
  actions: readonly SloAction[];
}

/** A compiled `kind: SLOs` document. */
export interface SloDocument {
  apiVersion: "warden/v1";
  kind: "SLOs";
  name?: string;
  slos: readonly Slo[];
}

const MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Longest duration accepted (about 10 years), so window arithmetic stays exact. */
export const MAX_DURATION_MS = 3650 * MS.d;

/** `"30d"`, `"6h"`, `"5m"`, `"60s"`, `"250ms"`, `"1.5h"` -> ms; undefined when invalid. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * MS[m[2]]);
  if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_DURATION_MS) return undefined;
  return ms;
}

/** Render ms back as the shortest exact duration string (`3600000` -> `"1h"`). */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"]) {
    if (ms % MS[unit] === 0) return `${ms / MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/** Default rows from the SRE Workbook (tuned for a 30-day window). */
export const DEFAULT_ALERT_ROWS: readonly AlertRow[] = Object.freeze(
  [
    { severity: "page", burn: 14.4, longMs: 1 * MS.h, shortMs: 5 * MS.m },
    { severity: "page", burn: 6, longMs: 6 * MS.h, shortMs: 30 * MS.m },
    { severity: "ticket", burn: 1, longMs: 3 * MS.d, shortMs: 6 * MS.h },
  ] satisfies AlertRow[],
);

const Duration = z.string({ error: "expected a duration such as 30s, 5m, 1h or 7d" }).transform(
  (s, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined) {
      ctx.addIssue({
        code: "custom",
        input: s,
        message: `invalid duration "${s}" (expected a positive number with s, m, h or d, e.g. 30d)`,
      });
      return z.NEVER;
    }
    return ms;
  },
);

const Name = z.string({ error: "expected a name" }).min(1, "expected a non-empty name");

const Target = z.number({ error: "expected a number between 0 and 1 (e.g. 0.99)" })
  .gt(0, "target must be greater than 0")
  .lt(1, "target must be less than 1 (a 100% SLO has no error budget)");

const Row = z.strictObject({
  severity: z.enum(["page", "ticket"], { error: 'expected "page" or "ticket"' }),
  burn: z.number({ error: "expected a number" }).positive("burn rate must be positive"),
  long: Duration,
  short: Duration,
}).transform((r, ctx): AlertRow => {
  if (r.short >= r.long) {
    ctx.addIssue({
      code: "custom",
      input: r,
      path: ["short"],
      message: "the short window must be shorter than the long window",
    });
  }
  return { severity: r.severity, burn: r.burn, longMs: r.long, shortMs: r.short };
});

const ACTION_LIST = "alert, throttle, demote, kill or freeze_rollouts";

const Action = z.unknown().transform((v, ctx): SloAction => {
  const fail = (message: string, path: PathPart[] = []) => {
    ctx.addIssue({ code: "custom", input: v, path, message });
    return z.NEVER;
  };
  if (typeof v === "string") {
    if (v === "throttle") return fail("throttle needs a rate: { throttle: { rate: N } }");
    if (v === "alert" || v === "demote" || v === "kill" || v === "freeze_rollouts") {
      return { type: v };
    }
    return fail(`unknown action "${v}" (expected ${ACTION_LIST})`);
  }
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length !== 1) {
      return fail(`an action is a name or a one-key mapping such as { throttle: { rate: 5 } }`);
    }
    const [key] = keys;
    const body = (v as Record<string, unknown>)[key];
    if (key !== "throttle") {
      if ((ACTION_TYPES as readonly string[]).includes(key)) {
        return fail(`action "${key}" takes no options; write it as a plain name`, [key]);
      }
      return fail(`unknown action "${key}" (expected ${ACTION_LIST})`, [key]);
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      return fail("expected { rate: N } (operations per second)", [key]);
    }
    for (const k of Object.keys(body)) {
      if (k !== "rate") return fail(`unknown key "${k}" in throttle`, [key, k]);
    }
    const rate = (body as Record<string, unknown>).rate;
    if (rate === undefined) return fail('missing required key "rate" in throttle', [key]);
    if (typeof rate !== "number" || !Number.isFinite(rate) || rate <= 0) {
      return fail("rate must be a positive number (operations per second)", [key, "rate"]);
    }
    return { type: "throttle", rate };
  }
  return fail(`expected an action (${ACTION_LIST})`);
});

const SloSchema = z.strictObject({
  name: Name,
  kind: z.enum(["success", "latency", "compliance"], {
    error: 'expected "success", "latency" or "compliance"',
  }),
  scope: z.strictObject({ agent: Name.optional(), tool: Name.optional() }).optional(),
  target: Target,
  window: Duration,
  threshold_ms: z.number({ error: "expected a number of milliseconds" })
    .positive("threshold_ms must be positive").optional(),
  alerts: z.array(Row, { error: "expected a list of alert rows" })
    .min(1, "expected at least one alert row").optional(),
  actions: z.array(Action, { error: "expected a list of actions" }).optional(),
});

const DocSchema = z.strictObject({
  apiVersion: z.literal("warden/v1", { error: 'expected "warden/v1"' }),
  kind: z.literal("SLOs", { error: 'expected "SLOs"' }),
  name: Name.optional(),
  slos: z.array(z.unknown(), { error: "expected a list of SLOs" }),
});

/** 1 - target without float noise: 1 - 0.99 = 0.01 exactly. */
export function budgetOf(target: number): number {
  return Number((1 - target).toPrecision(12));
}

/**
 * Compile a `kind: SLOs` YAML document. Throws `PolicyError` listing every problem with its
 * `path:line:col`.
 */
export function compileSlos(text: string, path = "<slos>"): SloDocument {
  const source = parseYamlSource(text, path);
  if (source.problems.length > 0) throw new PolicyError(source.problems);
  const data = source.data;
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new PolicyError([{
      path,
      ...source.locate.at([]),
      message: "an SLO document must be a mapping with apiVersion, kind and slos",
    }]);
  }
  const shell = DocSchema.safeParse(data);
  if (!shell.success) throw new PolicyError(zodProblems(shell.error, source));
  const problems: Problem[] = [];
  const slos: Slo[] = [];
  const seen = new Set<string>();
  shell.data.slos.forEach((raw, i) => {
    const r = SloSchema.safeParse(raw);
    if (!r.success) {
      problems.push(...zodProblems(r.error, source, ["slos", i]));
      return;
    }
    const s = r.data;
    const at = (parts: PathPart[], key = false) => ({
      path,
      ...source.locate.at(["slos", i, ...parts], key),
    });
    if (seen.has(s.name)) {
      problems.push({ ...at(["name"]), message: `duplicate SLO name "${s.name}"` });
    }
    seen.add(s.name);
    if (s.kind === "latency" && s.threshold_ms === undefined) {
      problems.push({ ...at([]), message: 'missing required key "threshold_ms" (latency SLO)' });
    }
    if (s.kind !== "latency" && s.threshold_ms !== undefined) {
      problems.push({
        ...at(["threshold_ms"], true),
        message: `threshold_ms is only allowed on latency SLOs, not ${s.kind}`,
      });
    }
    const scope: SloScope = {};
    if (s.scope?.agent !== undefined) scope.agent = s.scope.agent;
    if (s.scope?.tool !== undefined) scope.tool = s.scope.tool;
    const slo: Slo = {
      name: s.name,
      kind: s.kind,
      scope,
      target: s.target,
      errorBudget: budgetOf(s.target),
      windowMs: s.window,
      alerts: s.alerts ?? DEFAULT_ALERT_ROWS,
      actions: s.actions ?? [{ type: "alert" }],
    };
    if (s.threshold_ms !== undefined) slo.thresholdMs = s.threshold_ms;
    slos.push(slo);
  });
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  if (problems.length > 0) throw new PolicyError(problems);
  const doc: SloDocument = { apiVersion: "warden/v1", kind: "SLOs", slos };
  if (shell.data.name !== undefined) doc.name = shell.data.name;
  return doc;
}
