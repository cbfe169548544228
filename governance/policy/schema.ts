/** Zod schemas: the single source of truth for policy documents, requests and decisions. */
import { z } from "zod";
import { OutputsSection } from "../outputs/schema.ts";

/** A JSON scalar as used by `eq`, `ne`, `in`, `not_in`. */
export const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: "expected a string, number, boolean or null",
});
export type Scalar = z.infer<typeof Scalar>;

const StringOrList = z.union([z.string(), z.array(z.string()).min(1)], {
  error: "expected a string or a non-empty list of strings",
});

/** The value each operator accepts in a policy; strict, so unknown operators are errors. */
export const OperatorSchemas = {
  eq: Scalar,
  ne: Scalar,
  in: z.array(Scalar, { error: "expected a list" }).min(1, "expected a non-empty list"),
  not_in: z.array(Scalar, { error: "expected a list" }).min(1, "expected a non-empty list"),
  lt: z.number({ error: "expected a number" }),
  lte: z.number({ error: "expected a number" }),
  gt: z.number({ error: "expected a number" }),
  gte: z.number({ error: "expected a number" }),
  matches: z.string({ error: "expected a regular expression string" }),
  glob: StringOrList,
  prefix: StringOrList,
  suffix: StringOrList,
  contains: Scalar,
  within: StringOrList,
  cidr: StringOrList,
  exists: z.boolean({ error: "expected true or false" }),
} as const;
export type OperatorName = keyof typeof OperatorSchemas;
export const OPERATOR_NAMES = Object.keys(OperatorSchemas) as OperatorName[];

/** `{ op: value, ... }` under a field path. */
export const Operators = z.strictObject(
  Object.fromEntries(OPERATOR_NAMES.map((k) => [k, OperatorSchemas[k].optional()])) as {
    [K in OperatorName]: z.ZodOptional<(typeof OperatorSchemas)[K]>;
  },
);
export type Operators = z.infer<typeof Operators>;

const PROTO_SEGMENTS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Refuses a mapping with an own `__proto__`, `constructor`, `prototype` or `<<` key before a
 * record schema copies it (the copy would drop `__proto__` and the condition it held).
 */
const NoProtoKeys = z.unknown().superRefine((v, ctx) => {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return;
  for (const k of Object.keys(v)) {
    if (k === "__proto__" || k === "constructor" || k === "prototype" || k === "<<") {
      ctx.addIssue({ code: "custom", path: [k], message: `key "${k}" is not allowed` });
    }
  }
});

/**
 * A condition: a mapping whose keys are combinators (`all`, `any`, `not`) or field paths.
 * Several keys in one mapping are combined with `all`.
 */
export type Condition = { [key: string]: Condition | Condition[] | Operators };
export const Condition: z.ZodType<Condition> = z.lazy(() =>
  NoProtoKeys.pipe(
    z.record(z.string(), z.unknown(), { error: "expected a mapping" })
      .refine((m) => Object.keys(m).length > 0, "a condition must not be empty"),
  )
) as z.ZodType<Condition>;

export const Effect = z.enum(["allow", "deny", "require_approval"], {
  error: 'expected "allow", "deny" or "require_approval"',
});
export type Effect = z.infer<typeof Effect>;

export const Severity = z.enum(["low", "medium", "high", "critical"], {
  error: 'expected "low", "medium", "high" or "critical"',
});
export type Severity = z.infer<typeof Severity>;

const RuleId = z.string({ error: "expected a rule id string" }).regex(
  /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/,
  "a rule id is 1-128 characters of letters, digits, '.', '_', ':' or '-'",
);

/** One rule of a policy. */
export const Rule = z.strictObject({
  id: RuleId,
  description: z.string().optional(),
  effect: Effect,
  action: StringOrList,
  resource: StringOrList.optional(),
  rings: z.array(z.number().int().min(0).max(3), {
    error: "expected a list of rings 0-3",
  }).min(1).optional(),
  when: Condition.optional(),
  reason: z.string().optional(),
  severity: Severity.optional(),
  /**
   * Argument fields an approver must not see (`args.password`, `args.auth.*`): shown as
   * "[redacted]" in the approval queue of a `require_approval` this rule decides.
   */
  redact: z.array(
    z.string().regex(
      /^args(\.(\*|[A-Za-z0-9_$-]+))+$/,
      'expected a field path under args, e.g. "args.password"',
    ).refine(
      (p) => !p.split(".").some((seg) => PROTO_SEGMENTS.has(seg)),
      "__proto__, constructor and prototype cannot be path segments",
    ),
    { error: "expected a list of field paths" },
  ).min(1).optional(),
});
export type Rule = z.infer<typeof Rule>;

/** A policy document (`apiVersion: warden/v1`, `kind: Policy`). */
export const PolicyDocument = z.strictObject({
  apiVersion: z.literal("warden/v1", { error: 'expected "warden/v1"' }),
  kind: z.literal("Policy", { error: 'expected "Policy"' }),
  name: z.string().min(1),
  description: z.string().optional(),
  default: Effect.optional(),
  vars: NoProtoKeys.pipe(z.record(z.string(), z.string())).optional(),
  include: z.array(z.string()).optional(),
  /** Output rules: schemas per output kind and data-loss patterns (governance/outputs). */
  outputs: OutputsSection.optional(),
  rules: z.array(Rule).default([]),
});
export type PolicyDocument = z.infer<typeof PolicyDocument>;

/** The document with rules left unchecked, so each rule can be validated and reported alone. */
export const PolicyShell = PolicyDocument.extend({
  rules: z.array(z.unknown(), { error: "expected a list of rules" }).default([]),
});

/** The agent block of an ActionRequest. */
export const AgentInfo = z.object({
  id: z.string(),
  name: z.string().optional(),
  ring: z.number().int().min(0).max(3),
  trust: z.number().optional(),
  labels: z.record(z.string(), z.string()).optional(),
}).loose();

/** An ActionRequest: what an agent is trying to do. */
export const ActionRequest = z.object({
  agent: AgentInfo,
  action: z.string().min(1),
  resource: z.string(),
  args: z.record(z.string(), z.unknown()).optional(),
  context: z.record(z.string(), z.unknown()).optional(),
}).loose();
export type ActionRequest = z.infer<typeof ActionRequest>;

/**
 * A Decision: the engine's answer. `reason` is the full readable sentence; `ruleReason` is the
 * deciding rule's own reason as written (YAML `reason:`, Cedar `@reason`, a ceiling's sentence),
 * present only when there is one, so callers show it without parsing `reason`.
 */
export const Decision = z.object({
  effect: Effect,
  rule: z.string().nullable(),
  reason: z.string(),
  ruleReason: z.string().optional(),
});
export type Decision = z.infer<typeof Decision>;
