/**
 * Compliance mappings: OWASP Top 10 for Agentic Applications (December 2025), the EU AI Act,
 * SOC 2 and HIPAA, each mapped to Warden controls. Statuses never come from here: every
 * control is judged by a live check (runtime/compliance/checks.ts) — a probe of the configured
 * system or recorded results that prove the property — and is otherwise manual or fail.
 */

/** A Warden control that a live check can judge. */
export type ControlId =
  | "default-deny"
  | "ring-ceilings"
  | "no-code-exec"
  | "escape-tests"
  | "kernel-sandbox"
  | "tool-governance"
  | "approvals"
  | "kill-switch"
  | "audit-integrity"
  | "identity-keys"
  | "signed-messages"
  | "transport-security"
  | "plugin-signatures"
  | "memory-governance"
  | "output-rules"
  | "resilience"
  | "tests-pass";

export interface Requirement {
  framework: "OWASP ASI" | "EU AI Act" | "SOC 2" | "HIPAA";
  id: string;
  title: string;
  controls: readonly ControlId[];
}

export const REQUIREMENTS: readonly Requirement[] = [
  {
    framework: "OWASP ASI",
    id: "ASI01",
    title: "Agent Goal Hijack",
    controls: ["default-deny", "tool-governance", "approvals"],
  },
  {
    framework: "OWASP ASI",
    id: "ASI02",
    title: "Tool Misuse and Exploitation",
    controls: ["tool-governance", "default-deny", "resilience"],
  },
  {
    framework: "OWASP ASI",
    id: "ASI03",
    title: "Identity & Privilege Abuse",
    controls: ["ring-ceilings", "identity-keys", "kernel-sandbox"],
  },
  {
    framework: "OWASP ASI",
    id: "ASI04",
    title: "Agentic Supply Chain Vulnerabilities",
    controls: ["plugin-signatures"],
  },
  {
    framework: "OWASP ASI",
    id: "ASI05",
    title: "Unexpected Code Execution (RCE)",
    // output-rules: what agents hand to downstream systems (issue 22 judges ASI05 by it).
    controls: ["no-code-exec", "escape-tests", "kernel-sandbox", "output-rules"],
  },
  {
    framework: "OWASP ASI",
    id: "ASI06",
    title: "Memory & Context Poisoning",
    controls: ["memory-governance"],
  },
  {
    framework: "OWASP ASI",
    id: "ASI07",
    title: "Insecure Inter-Agent Communication",
    controls: ["signed-messages", "transport-security"],
  },
  {
    framework: "OWASP ASI",
    id: "ASI08",
    title: "Cascading Failures",
    controls: ["resilience", "kill-switch"],
  },
  {
    framework: "OWASP ASI",
    id: "ASI09",
    title: "Human-Agent Trust Exploitation",
    controls: ["approvals"],
  },
  {
    framework: "OWASP ASI",
    id: "ASI10",
    title: "Rogue Agents",
    controls: ["kill-switch", "audit-integrity", "escape-tests"],
  },
  {
    framework: "EU AI Act",
    id: "Art. 9",
    title: "Risk management system",
    controls: ["default-deny", "resilience", "tests-pass"],
  },
  { framework: "EU AI Act", id: "Art. 12", title: "Record-keeping", controls: ["audit-integrity"] },
  {
    framework: "EU AI Act",
    id: "Art. 13",
    title: "Transparency and provision of information",
    controls: ["tool-governance", "audit-integrity"],
  },
  {
    framework: "EU AI Act",
    id: "Art. 14",
    title: "Human oversight",
    controls: ["approvals", "kill-switch"],
  },
  {
    framework: "EU AI Act",
    id: "Art. 15",
    title: "Accuracy, robustness and cybersecurity",
    controls: ["tests-pass", "escape-tests", "kernel-sandbox"],
  },
  {
    framework: "SOC 2",
    id: "CC6.1",
    title: "Logical access security",
    controls: ["ring-ceilings", "default-deny", "identity-keys"],
  },
  {
    framework: "SOC 2",
    id: "CC6.6",
    title: "Protection against threats from outside system boundaries",
    controls: ["kernel-sandbox", "no-code-exec"],
  },
  {
    framework: "SOC 2",
    id: "CC7.2",
    title: "Monitoring of system components for anomalies",
    controls: ["audit-integrity", "resilience"],
  },
  {
    framework: "SOC 2",
    id: "CC8.1",
    title: "Change management",
    controls: ["plugin-signatures", "tests-pass"],
  },
  {
    framework: "HIPAA",
    id: "164.312(a)(1)",
    title: "Access control",
    controls: ["ring-ceilings", "default-deny"],
  },
  { framework: "HIPAA", id: "164.312(b)", title: "Audit controls", controls: ["audit-integrity"] },
  { framework: "HIPAA", id: "164.312(c)(1)", title: "Integrity", controls: ["audit-integrity"] },
  {
    framework: "HIPAA",
    id: "164.312(e)(1)",
    title: "Transmission security",
    controls: ["signed-messages", "transport-security"],
  },
];

export type Status = "pass" | "fail" | "not_applicable" | "manual";

/** The result of one live check. */
export interface ControlResult {
  control: ControlId;
  status: Status;
  evidence: string;
}

/** A requirement's status from its controls' results: any fail fails; all pass passes. */
export function requirementStatus(results: readonly ControlResult[]): Status {
  if (results.some((r) => r.status === "fail")) return "fail";
  if (results.every((r) => r.status === "not_applicable")) return "not_applicable";
  if (results.every((r) => r.status === "pass" || r.status === "not_applicable")) return "pass";
  return "manual";
}
