/** Shared fixtures of the RL tests: the learner agent and a governor over a policy. */
import { compilePolicy } from "../../governance/mod.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { type AgentRef, Governor } from "../../runtime/governor.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";

/** The learner, at ring 3. */
export const LEARNER: AgentRef = {
  id: "did:key:z6MkL",
  name: "learner",
  ring: 3,
  trust: 500,
  labels: {},
  workspace: "/",
  code: "/",
  sdk: "/",
};

/** A governor over `policy` (YAML text), or over the RL example's policy. */
export function rlGovernor(policy?: string): Governor {
  return new Governor(
    policy === undefined
      ? loadPolicy(["examples/rl/policy.yaml"], { builtin: true })
      : compilePolicy(policy),
    loadRings(),
    new AuditLog(),
  );
}
