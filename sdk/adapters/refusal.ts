/**
 * How a Warden refusal reads, for a model: one line naming what was refused, the rule, and the
 * rule's own reason. Shared by the framework adapters and the host's MCP gateway, so a denial
 * reads the same whichever path it took. Imports only types (the host uses it too).
 * @module
 */
import type { ErrorCode } from "../wire_schema.ts";

/** A refusal (or failure) reported by Warden. */
export interface Refusal {
  code: ErrorCode;
  rule: string | null;
  message: string;
}

/**
 * The host's reason without what the line already says: the policy engine words a rule's
 * reason `denied by rule "id": …` (and the gateway prefixes an approval's outcome), and the line
 * names the rule itself.
 */
function reasonOf(r: Refusal): string {
  if (!r.rule) return r.message;
  const rule = JSON.stringify(r.rule).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const said = new RegExp(
    "^(?:approval required \\(not performed\\): |approval denied: )?" +
      `(?:allowed|denied|approval required) by rule ${rule}(?:: |$)`,
  );
  return r.message.replace(said, "");
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
