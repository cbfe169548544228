/**
 * The `outputs:` section of a policy document: output schemas per kind and data-loss (DLP)
 * patterns with effect `deny` or `redact`. Validated with the rest of the document, so a bad
 * pattern or an unknown built-in is a problem at `file:line:col` like any other.
 * @module
 */
import { z } from "zod";
import { JsonSchemaSubset } from "../plugins/jsonschema.ts";
import { compileRegex } from "../policy/regex.ts";
import { BUILTIN_NAMES } from "./builtins.ts";

/** Where data leaves an agent (or comes back to it) and output rules apply. */
export const OUTPUT_CHANNELS = [
  "emit",
  "log",
  "tool.result",
  "mcp.result",
  "http.request",
  "stdio",
] as const;
export type OutputChannel = (typeof OUTPUT_CHANNELS)[number];
const Channel = z.enum(OUTPUT_CHANNELS, {
  error: `expected one of ${OUTPUT_CHANNELS.join(", ")}`,
});

/** Largest output scanned by default (characters of its JSON); above it, fail closed. */
export const DEFAULT_MAX_SCAN = 4 * 1024 * 1024;
/** Largest `max_bytes` a policy may set. */
export const MAX_MAX_SCAN = 64 * 1024 * 1024;

const RuleId = z.string({ error: "expected a rule id string" }).regex(
  /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/,
  "a rule id is 1-128 characters of letters, digits, '.', '_', ':' or '-'",
);

const HeaderName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "expected a header name")
  .transform((h) => h.toLowerCase());

const Builtin = z.string().refine(
  (n) => BUILTIN_NAMES.includes(n),
  { error: `unknown built-in; expected one of ${BUILTIN_NAMES.join(", ")}` },
);

const Pattern = z.string({ error: "expected an RE2 pattern string" }).superRefine((p, ctx) => {
  const r = compileRegex(p);
  if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
});

/**
 * A credential the operator means for one host: on `http.request`, the rule does not apply to
 * these headers' values on an `https:` request to exactly this host (other rules still do).
 */
export const DlpExcept = z.strictObject({
  /** The request's host, exactly (lower-cased; no wildcard). */
  host: z.string().min(1).max(253).regex(/^[A-Za-z0-9.:[\]-]+$/, "expected a host name")
    .transform((h) => h.toLowerCase().replace(/^\[|\]$/g, "")),
  /** Header names (case-insensitive). */
  header: z.union([HeaderName, z.array(HeaderName).min(1)], {
    error: "expected a header name or a list of them",
  }),
});
export type DlpExcept = z.infer<typeof DlpExcept>;

/** One data-loss rule: built-in detectors and/or an RE2 pattern, and what to do on a match. */
export const DlpRule = z.strictObject({
  id: RuleId,
  description: z.string().optional(),
  builtin: z.union([Builtin, z.array(Builtin).min(1)]).optional(),
  pattern: Pattern.optional(),
  case_insensitive: z.boolean().optional(),
  effect: z.enum(["deny", "redact"], { error: 'expected "deny" or "redact"' }),
  /** Channels the rule applies to (all of them when absent). */
  on: z.array(Channel).min(1).optional(),
  /** Credentials meant for a host: headers of `http.request` the rule leaves alone there. */
  except: z.array(DlpExcept).min(1).optional(),
}).refine((r) => r.builtin !== undefined || r.pattern !== undefined, {
  error: "a dlp rule needs a builtin, a pattern, or both",
});
export type DlpRule = z.infer<typeof DlpRule>;

/** A schema an output of one kind must match (a mismatch is denied). */
export const OutputSchemaRule = z.strictObject({
  id: RuleId,
  description: z.string().optional(),
  on: z.enum(["emit", "tool.result", "mcp.result"], {
    error: 'expected "emit", "tool.result" or "mcp.result"',
  }),
  /** emit: the output's string `kind` field; tool.result / mcp.result: the tool's name. */
  kind: z.string().min(1),
  schema: JsonSchemaSubset,
});
export type OutputSchemaRule = z.infer<typeof OutputSchemaRule>;

/** The `outputs:` section. */
export const OutputsSection = z.strictObject({
  /** Largest output scanned (characters of its JSON); larger outputs are denied. */
  max_bytes: z.int().positive().max(MAX_MAX_SCAN).optional(),
  schemas: z.array(OutputSchemaRule).optional(),
  dlp: z.array(DlpRule).optional(),
});
export type OutputsSection = z.infer<typeof OutputsSection>;
