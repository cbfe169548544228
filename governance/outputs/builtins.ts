/**
 * Named built-in data-loss detectors (RE2 syntax). Each has literal needles: the pattern runs
 * only on text that contains one (a cheap `includes` per needle), so a clean output costs a
 * few substring searches per detector. Groups (`tokens`, `cloud`, `all`) name several.
 * @module
 */

/** One built-in detector. */
export interface Builtin {
  readonly name: string;
  /** RE2 pattern (unanchored). */
  readonly pattern: string;
  /** The pattern can only match text containing one of these (compared lower-cased if `ci`). */
  readonly needles: readonly string[];
  readonly ci?: boolean;
  /** Longest match, from its needle (absent: unbounded, the rest of the text is scanned). */
  readonly window?: number;
  readonly what: string;
}

const B64 = "[A-Za-z0-9/+]";

/** Every built-in detector, in the order findings are named (first wins on the same span). */
export const BUILTINS: readonly Builtin[] = [
  {
    name: "private_key",
    // A PEM private key block (RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP …); without an END line,
    // everything after BEGIN is the key (a truncated key is still a key).
    pattern: "-----BEGIN[A-Z0-9 ]*PRIVATE ?KEY(?: ?BLOCK)?-----(?:(?s:.*?)-----END[A-Z0-9 ]*" +
      "PRIVATE ?KEY(?: ?BLOCK)?-----|(?s:.*))",
    needles: ["-----BEGIN"],
    what: "PEM private key blocks",
  },
  {
    name: "aws_secret_access_key",
    // A secret named as one, or any 40-character secret within 100 characters after a key id.
    pattern: `(?i:aws.{0,20}?secret.{0,20}?[\\s"':=]{1,5}${B64}{40}\\b)|` +
      `\\b(?:AKIA|ASIA)[A-Z0-9]{16}\\b(?s:.{1,100}?)\\b${B64}{40}\\b`,
    needles: ["aws", "akia", "asia"],
    ci: true,
    window: 1024,
    what: "AWS secret access keys (named, or paired with a key id)",
  },
  {
    name: "aws_access_key_id",
    pattern: "\\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\\b",
    needles: ["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
    window: 1024,
    what: "AWS access key ids",
  },
  {
    name: "github_token",
    pattern: "\\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\\b",
    needles: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
    window: 1024,
    what: "GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
  },
  {
    name: "slack_token",
    pattern: "\\bxox[abposr]-[A-Za-z0-9-]{10,250}|\\bxapp-[0-9]-[A-Za-z0-9-]{10,250}|" +
      "https://hooks\\.slack\\.com/services/[A-Za-z0-9_/-]{20,}",
    needles: ["xox", "xapp-", "hooks.slack.com"],
    window: 1024,
    what: "Slack tokens (xox*, xapp-) and webhook URLs",
  },
  {
    name: "anthropic_key",
    pattern: "\\bsk-ant-[a-z0-9]{2,10}-[A-Za-z0-9_-]{20,}",
    needles: ["sk-ant-"],
    window: 1024,
    what: "Anthropic API keys (sk-ant-…)",
  },
  {
    name: "openai_key",
    pattern: "\\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9][A-Za-z0-9_-]{19,}",
    needles: ["sk-"],
    window: 1024,
    what: "OpenAI API keys (sk-…, sk-proj-…)",
  },
  {
    name: "google_api_key",
    pattern: "\\bAIza[0-9A-Za-z_-]{35}",
    needles: ["AIza"],
    window: 1024,
    what: "Google API keys (AIza…)",
  },
  {
    name: "stripe_key",
    pattern: "\\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}|\\bwhsec_[A-Za-z0-9]{24,}",
    needles: ["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"],
    window: 1024,
    what: "Stripe secret and restricted keys, webhook secrets",
  },
  {
    name: "jwt",
    pattern: "\\beyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]*",
    needles: ["eyJ"],
    window: 1024,
    what: "JSON Web Tokens",
  },
  {
    name: "gcp_service_account",
    pattern: `"private_key_id"\\s*:\\s*"[0-9a-f]{40}"`,
    needles: ["private_key_id"],
    window: 1024,
    what: "Google Cloud service-account key files (their private_key is a private_key match)",
  },
  {
    name: "azure_storage_key",
    pattern: `(?i:accountkey)=${B64}{86}==`,
    needles: ["accountkey="],
    ci: true,
    window: 1024,
    what: "Azure storage account keys in connection strings",
  },
];

/** Named groups of built-ins. */
export const BUILTIN_GROUPS: Readonly<Record<string, readonly string[]>> = {
  all: BUILTINS.map((b) => b.name),
  tokens: [
    "github_token",
    "slack_token",
    "anthropic_key",
    "openai_key",
    "google_api_key",
    "stripe_key",
    "jwt",
  ],
  cloud: ["aws_access_key_id", "aws_secret_access_key", "gcp_service_account", "azure_storage_key"],
};

/** Every name a policy may use under `builtin:` (detectors and groups). */
export const BUILTIN_NAMES: readonly string[] = [
  ...BUILTINS.map((b) => b.name),
  ...Object.keys(BUILTIN_GROUPS),
];

/** The detectors a list of names (detectors or groups) stands for, in BUILTINS order. */
export function expandBuiltins(names: readonly string[]): Builtin[] {
  const wanted = new Set(names.flatMap((n) => BUILTIN_GROUPS[n] ?? [n]));
  return BUILTINS.filter((b) => wanted.has(b.name));
}
