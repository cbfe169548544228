/**
 * Multiwindow, multi-burn-rate alerts (SRE Workbook ch. 5) and the SLO monitor that ties the
 * store, the budgets and the alerts together. Pure: `now` is always passed in.
 */
import {
  type Budget,
  burnRate,
  type Counts,
  errorBudget,
  type Observation,
  SloStore,
  type StoreOptions,
} from "./budget.ts";
import type { AlertRow, Severity, Slo, SloAction } from "./slo.ts";

/** State of one alert row at one evaluation. */
export interface AlertState {
  /** Index of the row in the SLO's `alerts`. */
  row: number;
  severity: Severity;
  /** The row's burn-rate threshold. */
  threshold: number;
  longMs: number;
  shortMs: number;
  firing: boolean;
  longBurn: number;
  shortBurn: number;
}

/** Result of evaluating one SLO at `now`. */
export interface SloStatus {
  slo: string;
  budget: Budget;
  alerts: AlertState[];
  /** Budget exhausted (consumed >= 1) or any alert row firing. */
  breached: boolean;
  /** Highest severity firing, if any. */
  severity?: Severity;
  /** The SLO's actions when breached, else empty. */
  actions: readonly SloAction[];
}

/**
 * Decide one row. It starts firing only when both windows burn at >= the threshold; once
 * firing it keeps firing until the short window drops below the threshold.
 */
export function alertFiring(
  row: AlertRow,
  longBurn: number,
  shortBurn: number,
  wasFiring = false,
): boolean {
  if (shortBurn < row.burn) return false;
  return wasFiring || longBurn >= row.burn;
}

/**
 * Pure evaluation of an SLO from a counts function (window ms -> counts at `now`), given which
 * rows were firing at the previous evaluation.
 */
export function evaluateSlo(
  slo: Slo,
  countsOver: (windowMs: number) => Counts,
  wasFiring: readonly boolean[] = [],
): SloStatus {
  const budget = errorBudget(countsOver(slo.windowMs), slo.target);
  const alerts = slo.alerts.map((row, i): AlertState => {
    const longBurn = burnRate(countsOver(row.longMs), slo.target);
    const shortBurn = burnRate(countsOver(row.shortMs), slo.target);
    return {
      row: i,
      severity: row.severity,
      threshold: row.burn,
      longMs: row.longMs,
      shortMs: row.shortMs,
      firing: alertFiring(row, longBurn, shortBurn, wasFiring[i] ?? false),
      longBurn,
      shortBurn,
    };
  });
  const firing = alerts.filter((a) => a.firing);
  const breached = budget.consumed >= 1 || firing.length > 0;
  const status: SloStatus = { slo: slo.name, budget, alerts, breached, actions: [] };
  if (firing.length > 0) {
    status.severity = firing.some((a) => a.severity === "page") ? "page" : "ticket";
  }
  if (breached) status.actions = slo.actions;
  return status;
}

/**
 * Measures a set of SLOs and evaluates them. Holds only bucketed counts and the previous
 * firing state of each alert row; deterministic given the events and the `now`s passed in.
 */
export class SloMonitor {
  readonly store: SloStore;
  #firing = new Map<string, boolean[]>();

  constructor(slos: readonly Slo[], options: StoreOptions = {}) {
    this.store = new SloStore(slos, options);
  }

  get slos(): readonly Slo[] {
    return this.store.slos;
  }

  /** Record one observation into every matching SLO; returns the SLO names it counted for. */
  record(obs: Observation): string[] {
    return this.store.record(obs);
  }

  /** Evaluate one SLO at `now` (updates the row firing state used for resolution). */
  evaluateOne(name: string, now: number): SloStatus {
    const slo = this.slos.find((s) => s.name === name);
    if (!slo) throw new Error(`unknown SLO "${name}"`);
    const series = this.store.series(name);
    series.expire(now);
    const status = evaluateSlo(
      slo,
      (w) => series.counts(now, w),
      this.#firing.get(name) ?? [],
    );
    this.#firing.set(name, status.alerts.map((a) => a.firing));
    return status;
  }

  /** Evaluate every SLO at `now`. */
  evaluate(now: number): SloStatus[] {
    return this.slos.map((s) => this.evaluateOne(s.name, now));
  }
}
