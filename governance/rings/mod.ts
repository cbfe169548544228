/**
 * Rings: four privilege levels with ceilings in Deno's permission vocabulary.
 * @module
 */
export {
  Capabilities,
  capabilityCeiling,
  compileRings,
  type Ring,
  RingCeiling,
  RingCeilings,
  ringFlags,
  RINGS,
  RingsDocument,
} from "./ceiling.ts";
export {
  agentBudgets,
  BudgetOverrides,
  type Budgets,
  BudgetsSection,
  DEFAULT_BUDGETS,
  MAX_BYTES,
  parseBudgets,
  parseSize,
  ringBudgets,
} from "./budgets.ts";
