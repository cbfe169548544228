/** Decision lines for people, shared by the CLIs (flags and exit codes: runner.ts). */
import type { AuditEntry } from "../../governance/audit/mod.ts";
import { clip, visible } from "./colour.ts";

/**
 * Whether a decision is worth a line without `--verbose`: refusals and approvals, but not the
 * probes of unset variables a program never notices (audited; shown with --verbose).
 */
export function noteworthy(e: AuditEntry): boolean {
  return e.effect !== "allow" && e.unset !== true;
}

/** One line for a decision, for people. */
export function describe(e: AuditEntry): string {
  const mark = e.action === "agent.stop" && e.path === "host"
    ? "STOP " // the host's own stop at shutdown: not a decision about the agent
    : e.effect === "allow"
    ? "ALLOW"
    : e.effect === "deny" && e.unset === true
    ? "UNSET" // a probe of a variable it does not have, answered as unset
    : e.effect === "deny"
    ? "DENY "
    : "ASK  ";
  // what an agent controls (its name, the resource, the reason quoting it) cannot write escapes
  return visible(
    `warden: ${mark} ${e.agent.name} ${e.action} ${clip(e.resource, 120)} — ${e.reason}`,
  );
}
