/**
 * Warden governance: pure decision logic (no I/O). The policy engine compiles YAML policies
 * once and evaluates ActionRequests synchronously, deny by default.
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
/** Cedar policies: the entity-model schema and the compiled, sliced Cedar set. */
export { cedarSchema, CedarSet, type CedarVerdict, compileCedar } from "./policy/cedar.ts";
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
