/**
 * Live checks: each control judged against the running configuration, with its evidence.
 * The controls live by family: decision_checks.ts (policy probes), test_checks.ts (test
 * results), trust_checks.ts (keys and signatures); the host probes and resilience are here.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { CompiledPolicy } from "../../governance/mod.ts";
import type { RingCeilings } from "../../governance/rings/mod.ts";
import type { SloDocument } from "../../governance/sre/mod.ts";
import { z } from "zod";
import type { ControlId, ControlResult } from "../../governance/compliance/mod.ts";
import { landlockSandbox } from "../supervisor/sandbox/build.ts";
import { checkDecisions, checkTools } from "./decision_checks.ts";
import { probeMemory } from "./memory_probe.ts";
import { probeOutputs } from "./output_probe.ts";
import { probeApprovals, probeKernelSandbox, probeKillSwitch } from "./probes.ts";
import { checkEscapeTests, junitSummary, testsPass } from "./test_checks.ts";
import { checkTrust } from "./trust_checks.ts";

export { ESCAPE_SUITE, escapeCaseNames, junitSummary, TESTS_ROOT } from "./test_checks.ts";

/** What the checks look at. */
export interface ComplianceInputs {
  policy: CompiledPolicy;
  rings: RingCeilings;
  /** The warden home: keys, plugin keyring and revocations. */
  state: string;
  auditPath?: string;
  slos?: SloDocument;
  /** `deno test --junit-path` output. */
  junit?: string;
  /** Peer hosts messages are sent to (base URLs), as the host is configured. */
  peers?: string[];
  /**
   * Run the live probes that start processes and servers (default true). Without them the
   * controls they judge are manual: nothing else is evidence for them.
   */
  live?: boolean;
  /** The test suite the JUnit results must cover (the repo's `tests/` by default). */
  testsRoot?: string;
}

/** Records one control's result. */
export type AddResult = (
  control: ControlId,
  status: ControlResult["status"],
  evidence: string,
) => void;

/** Largest age of the host's SRE status that still counts as evidence (24 h). */
const SRE_MAX_AGE_MS = 86_400_000;

/** Run every control's live check. */
export async function runChecks(i: ComplianceInputs): Promise<ControlResult[]> {
  const r: ControlResult[] = [];
  const add: AddResult = (control, status, evidence) => r.push({ control, status, evidence });
  const tests = i.junit ? junitSummary(i.junit) : null;
  const live = i.live ?? true;

  checkDecisions(i, add);
  checkEscapeTests(tests, add);
  const sb = landlockSandbox();
  if (!sb.path) add("kernel-sandbox", "fail", `no kernel sandbox: ${sb.why}`);
  else {
    const k = await probeKernelSandbox(sb.path);
    add("kernel-sandbox", k.status, k.evidence);
  }
  checkTools(i, add);
  const approvalRules = i.policy.rules.filter((x) => x.effect === "require_approval").map((x) =>
    x.id
  );
  if (approvalRules.length === 0) {
    add(
      "approvals",
      "manual",
      "no require_approval rule in the policy: decide which actions need a human",
    );
  } else if (!live) {
    add(
      "approvals",
      "manual",
      `require_approval rules: ${approvalRules.join(", ")}; live probes disabled`,
    );
  } else {
    const a = await probeApprovals(i.policy, i.rings, approvalRules[0]);
    add(
      "approvals",
      a.status,
      `require_approval rules: ${approvalRules.join(", ")}; ${a.evidence}`,
    );
  }
  // Kill switch: only a live kill of a busy loop in a host with this configuration counts.
  if (!live) add("kill-switch", "manual", "live probes disabled: nothing else is evidence");
  else {
    const k = await probeKillSwitch(i.policy, i.rings);
    add("kill-switch", k.status, k.evidence);
  }
  await checkTrust(i, live, add);
  await probeMemory(i, add);
  await probeOutputs(i, add);
  add("resilience", ...resilience(i));
  add("tests-pass", ...testsPass(i, tests));
  return r;
}

/**
 * Resilience passes only on measured SLO events in a recent SRE status written by a host: an
 * SLO file alone, or a status with nothing measured, is manual; a breached SLO fails.
 */
function resilience(i: ComplianceInputs): [ControlResult["status"], string] {
  const configured = i.slos?.slos.map((s) => s.name) ?? [];
  let snap: unknown = null;
  try {
    snap = JSON.parse(Deno.readTextFileSync(join(i.state, "sre-status.json")));
  } catch { /* no host has written SRE status here */ }
  const parsed = SreSnapshot.safeParse(snap);
  if (!parsed.success) {
    return [
      "manual",
      `nothing measured: ${
        snap === null ? "no SRE status in the state directory" : "the SRE status is unreadable"
      }${configured.length ? ` (${configured.length} SLO(s) configured)` : ""}`,
    ];
  }
  const s = parsed.data;
  const breached = s.slos.filter((x) => x.breached).map((x) => x.slo);
  if (breached.length > 0) return ["fail", `SLOs breached at ${s.at}: ${breached.join(", ")}`];
  const age = Date.now() - Date.parse(s.at);
  if (!(age <= SRE_MAX_AGE_MS)) {
    return ["manual", `nothing measured recently: the SRE status is from ${s.at}`];
  }
  const measured = s.measured.filter((m) => m.total > 0);
  const unmeasured = [
    ...new Set([...configured, ...s.slos.map((x) => x.slo), ...s.measured.map((m) => m.slo)]),
  ].filter((n) => !measured.some((m) => m.slo === n));
  if (measured.length === 0) {
    return [
      "manual",
      `nothing measured: no SLO events in the SRE status of ${s.at}${
        unmeasured.length ? ` (SLOs: ${unmeasured.join(", ")})` : ""
      }`,
    ];
  }
  if (unmeasured.length > 0) {
    return ["manual", `not measured: ${unmeasured.join(", ")} (status ${s.at})`];
  }
  return [
    "pass",
    `measured at ${s.at}, none breached: ${
      measured.map((m) => `${m.slo}: ${m.good}/${m.total} good`).join(", ")
    }`,
  ];
}

/** The part of `<state>/sre-status.json` that is evidence. */
const SreSnapshot = z.object({
  at: z.string(),
  slos: z.array(z.object({ slo: z.string(), breached: z.boolean() })),
  measured: z.array(
    z.object({ slo: z.string(), good: z.number().int().min(0), total: z.number().int().min(0) }),
  ).default([]),
});

/** sha-256 of a file (for the evidence bundle). */
export function fileHash(path: string): string {
  return createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
}
