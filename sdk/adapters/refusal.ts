/**
 * How a Warden refusal reads, for a model: one line naming what was refused, the rule, and the
 * rule's own reason (the Decision's `ruleReason`, carried on the wire: nothing here parses the
 * host's sentence). Shared by the framework adapters and the host's MCP gateway, so a denial
 * reads the same whichever path it took. Imports only types (the host uses it too).
 * @module
 */
import type { Refusal } from "../types.ts";

export type { Refusal };

/**
 * Why, in the line. A refusal by the policy (`denied`, `approval_required`) with a deciding
 * rule gives that rule's own reason, or nothing (the line names the rule); without a rule, its
 * `ruleReason` (a ceiling's sentence) or its message (the default). Any other refusal (invalid
 * arguments, a limit, a failure, a kill) gives the host's message.
 */
function reasonOf(r: Refusal): string {
  if (r.code !== "denied" && r.code !== "approval_required") return r.message;
  if (r.ruleReason !== null) return r.ruleReason;
  return r.rule ? "" : r.message;
}

/**
 * One line for the model: what Warden did with a call of `subject` (`tool "name"`,
 * `prompt "name"`, `resource uri`), and why.
 */
export function refusalLine(subject: string, r: Refusal): string {
  const by = r.rule ? ` (rule ${r.rule})` : "";
  const reason = reasonOf(r);
  const why = reason ? `: ${reason}` : "";
  switch (r.code) {
    case "denied":
      return `Warden denied ${subject}${by}${why}`;
    case "approval_required":
      return `Warden held ${subject} for human approval${by}; it did not run${why}`;
    case "invalid":
      return `Warden rejected the arguments of ${subject}${by}${why}`;
    case "busy":
      return `Warden: ${subject} is temporarily unavailable${by}${why}`;
    case "timeout":
      return `Warden: ${subject} timed out${by}${why}`;
    case "killed":
      return `Warden stopped this agent; ${subject} did not run${why}`;
    case "failed":
      return `Warden could not run ${subject}${by}${why}`;
  }
}
