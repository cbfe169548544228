/**
 * Warden governance: pure decision logic (no I/O, no clock or randomness read: both are
 * parameters). The policy engine compiles YAML policies, and Cedar ones with an injected
 * `CedarEngine`, once and evaluates ActionRequests synchronously, deny by default.
 * @module
 */
export {
  CompiledPolicy,
  type CompiledRule,
  type CompileOptions,
  compilePolicy,
  compilePolicySet,
  type PolicySource,
  type ResourceShape,
  type SourceLocation,
} from "./policy/compile.ts";
export { formatProblem, PolicyError, type Problem } from "./policy/errors.ts";
/**
 * Cedar policies: the entity-model schema, the injected engine's shape and the compiled, sliced
 * Cedar set.
 */
export {
  type CedarEngine,
  cedarSchema,
  CedarSet,
  type CedarVerdict,
  compileCedar,
} from "./policy/cedar.ts";
export { explain, type ExplainNode, type ExplainRule, type Explanation } from "./policy/explain.ts";
export { ACTION_KINDS, type ResourceKind } from "./policy/actions.ts";
export {
  ActionRequest,
  Decision,
  type Effect,
  PolicyDocument,
  type Severity,
} from "./policy/schema.ts";
export { normalizePath, urlFacets } from "./policy/normalize.ts";
export { normalizeUri, templateMayMatch, templateShape, type UriResult } from "./policy/uri.ts";
