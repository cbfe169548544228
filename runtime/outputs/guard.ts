/**
 * The one runtime call of the output rules: check what is about to leave (an `emit`, a log
 * line, an `http.fetch` request) or come back to an agent (a tool or MCP result) against the
 * live policy's `outputs:` (governance/outputs), audit any match as `output.check` — the rule,
 * the detector, where, and the SHA-256 of what matched, never the text — and hand back what
 * may go on: the value itself, its redacted form, or a refusal.
 * @module
 */
import { type OutputChannel, outputRulesOf } from "../../governance/outputs/mod.ts";
import type { Ask, Governor, Subject } from "../governor.ts";

/** What may go on: a value (redacted or not), or why nothing does. */
export type Guarded =
  | { ok: true; value: unknown; redacted: boolean; rule?: string | null }
  | { ok: false; rule: string | null; reason: string };

/** Where a check is made: who, through which path, on what channel, about what. */
export interface GuardSite {
  governor: Governor;
  subject: Subject;
  path: Ask["path"];
  channel: OutputChannel;
  /** The tool's name, the URL, "output" or "log". */
  resource: string;
  /** The output's kind for schemas (tool results: the tool's name). */
  kind?: string;
  /** Rules left out here (an `except:` of the rule names this request's host and header). */
  skip?: ReadonlySet<string>;
}

/** Check `value` at `site` (see the module comment). A policy without `outputs:` costs nothing. */
export function guardOutput(site: GuardSite, value: unknown): Guarded {
  const rules = outputRulesOf(site.governor.policy);
  if (rules.idle(site.channel)) return { ok: true, value, redacted: false };
  const v = rules.check(site.channel, value, site.kind, site.skip);
  if (v.effect === "allow") return { ok: true, value, redacted: false };
  site.governor.record(
    site.subject,
    {
      path: site.path,
      action: "output.check",
      resource: `${site.channel}:${site.resource}`.slice(0, 600),
    },
    { effect: v.effect === "deny" ? "deny" : "allow", rule: v.rule, reason: v.reason },
    { outcome: v.effect, channel: site.channel, findings: v.findings },
  );
  return v.effect === "deny"
    ? { ok: false, rule: v.rule, reason: v.reason }
    : { ok: true, value: v.value, redacted: true, rule: v.rule };
}
