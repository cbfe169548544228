/**
 * Output rules (policy `outputs:`): schemas per output kind and data-loss patterns (RE2, with
 * named built-ins) with effect `deny` or `redact`, checked on every output channel. Pure.
 * @module
 */
export { attachOutputRules, compileOutputRules, outputRulesOf } from "./compile.ts";
export { NO_OUTPUT_RULES, OutputRules, type OutputVerdict } from "./rules.ts";
export { marker, type OutputFinding } from "./scan.ts";
export { BUILTIN_GROUPS, BUILTINS, expandBuiltins } from "./builtins.ts";
export {
  DEFAULT_MAX_SCAN,
  DlpExcept,
  DlpRule,
  OUTPUT_CHANNELS,
  type OutputChannel,
  OutputSchemaRule,
  OutputsSection,
} from "./schema.ts";
