/** SRE budgets: SLO documents, error-budget math, bucketed measurement and burn-rate alerts. */
export {
  ACTION_TYPES,
  type AlertRow,
  budgetOf,
  compileSlos,
  DEFAULT_ALERT_ROWS,
  formatDuration,
  MAX_DURATION_MS,
  parseDuration,
  type Severity,
  type Slo,
  type SloAction,
  type SloDocument,
  type SloKind,
  type SloScope,
} from "./slo.ts";
export {
  BucketSeries,
  type Budget,
  burnRate,
  classify,
  type Counts,
  DEFAULT_BUCKET_MS,
  errorBudget,
  horizonOf,
  MAX_BUCKETS,
  type Observation,
  scopeMatches,
  SloStore,
  type StoreOptions,
} from "./budget.ts";
export { alertFiring, type AlertState, evaluateSlo, SloMonitor, type SloStatus } from "./alerts.ts";
export {
  agentKey,
  BreakerConfig,
  BreakerOverride,
  BreakerRegistry,
  BreakerRegistryConfig,
  CircuitBreaker,
  toolKey,
} from "./breaker.ts";
