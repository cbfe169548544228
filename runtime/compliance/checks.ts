/** Live checks: each control judged against the running configuration, with its evidence. */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { CompiledPolicy } from "../../governance/mod.ts";
import type { RingCeilings } from "../../governance/rings/mod.ts";
import type { SloDocument } from "../../governance/sre/mod.ts";
import { ReplayGuard } from "../../governance/identity/mod.ts";
import type { ControlId, ControlResult } from "../../governance/compliance/mod.ts";
import { verifyLog } from "../audit/verify.ts";
import { Keyring, Revocations } from "../../governance/plugins/trust.ts";
import { landlockSandbox } from "../supervisor/sandbox/build.ts";

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
}

/** Pass/fail counts and names from a JUnit report. */
export function junitSummary(
  xml: string,
): { passed: number; failed: number; names: string[]; failedNames: string[] } {
  const names: string[] = [];
  const failedNames: string[] = [];
  for (
    const m of xml.matchAll(/<testcase\b[^>]*\bname="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)
  ) {
    const name = m[1].replaceAll("&quot;", '"').replaceAll("&amp;", "&").replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">");
    names.push(name);
    if (m[3] && /<(failure|error)\b/.test(m[3])) failedNames.push(name);
  }
  return {
    passed: names.length - failedNames.length,
    failed: failedNames.length,
    names,
    failedNames,
  };
}

const agent = (ring: number) => ({
  id: "did:key:z6MkCompliance",
  name: "compliance-probe",
  ring,
  trust: 500,
  labels: {},
});

/** The decision for a probe request (ceiling first, then policy). */
function decide(i: ComplianceInputs, ring: number, action: string, resource: string) {
  const req = {
    agent: agent(ring),
    action,
    resource,
    args: {},
    context: { workspace: "/srv/ws", code: "/srv/code", sdk: "/srv/sdk" },
  };
  return i.rings.check(req) ?? i.policy.evaluate(req);
}

function mode(path: string): number | null {
  try {
    return (Deno.statSync(path).mode ?? 0) & 0o777;
  } catch {
    return null;
  }
}

/** Run every control's live check. */
export async function runChecks(i: ComplianceInputs): Promise<ControlResult[]> {
  const r: ControlResult[] = [];
  const add = (control: ControlId, status: ControlResult["status"], evidence: string) =>
    r.push({ control, status, evidence });
  const tests = i.junit ? junitSummary(i.junit) : null;

  add(
    "default-deny",
    i.policy.defaultEffect === "deny" ? "pass" : "fail",
    `policy ${i.policy.names.join(" + ")} default is ${i.policy.defaultEffect}`,
  );
  const escapes = [2, 3].flatMap((ring) =>
    [
      ["fs.read", "/etc/passwd"],
      ["fs.write", "/etc/cron.d/x"],
    ].map(([a, res]) => ({ ring, a, res, d: decide(i, ring, a, res) }))
  );
  const leaks = escapes.filter((e) => e.d.effect === "allow");
  add(
    "ring-ceilings",
    leaks.length === 0 ? "pass" : "fail",
    leaks.length === 0
      ? "rings 2 and 3 cannot read or write outside their trees (probed /etc/passwd, /etc/cron.d)"
      : `allowed: ${leaks.map((e) => `ring ${e.ring} ${e.a} ${e.res}`).join(", ")}`,
  );
  const exec = [2, 3].flatMap((ring) =>
    [["run", "*"], ["run", "/bin/sh"], ["ffi", "/lib/x86_64-linux-gnu/libc.so.6"]].map((
      [a, res],
    ) => ({ ring, a, res, d: decide(i, ring, a, res) }))
  );
  const execLeaks = exec.filter((e) => e.d.effect !== "deny");
  add(
    "no-code-exec",
    execLeaks.length === 0 ? "pass" : "fail",
    execLeaks.length === 0
      ? "run (with and without a command) and ffi are denied at rings 2 and 3"
      : `not denied: ${
        execLeaks.map((e) => `ring ${e.ring} ${e.a} ${e.res} (${e.d.effect} by ${e.d.rule})`).join(
          ", ",
        )
      }`,
  );
  if (!tests) add("escape-tests", "manual", "no test results given (--tests junit.xml)");
  else {
    const esc = tests.names.filter((n) => n.startsWith("escape"));
    const bad = tests.failedNames.filter((n) => n.startsWith("escape"));
    add(
      "escape-tests",
      esc.length >= 15 && bad.length === 0 ? "pass" : "fail",
      `${esc.length - bad.length}/${esc.length} escape tests passed${
        bad.length ? `; failed: ${bad.join(", ")}` : ""
      }`,
    );
  }
  const sb = landlockSandbox();
  add(
    "kernel-sandbox",
    sb.path ? "pass" : "fail",
    sb.path ? `Landlock launcher ${sb.path}` : `no kernel sandbox: ${sb.why}`,
  );
  const tool = decide(i, 2, "tool.call", "a-tool-nobody-registered");
  add(
    "tool-governance",
    tool.effect === "deny" ? "pass" : "fail",
    `an unlisted tool call is ${tool.effect}${
      tool.rule ? ` by ${tool.rule}` : ""
    }; tool arguments are schema-validated before the policy sees them`,
  );
  const approvalRules = i.policy.rules.filter((x) => x.effect === "require_approval").map((x) =>
    x.id
  );
  add(
    "approvals",
    approvalRules.length ? "pass" : "manual",
    approvalRules.length
      ? `require_approval rules: ${approvalRules.join(", ")}; parked approvals time out to deny`
      : "no require_approval rule in the policy: decide which actions need a human",
  );
  if (!tests) add("kill-switch", "manual", "no test results given (--tests junit.xml)");
  else {
    const kill = tests.names.filter((n) => /kill|busy loop|timeout/i.test(n));
    const bad = tests.failedNames.filter((n) => kill.includes(n));
    add(
      "kill-switch",
      kill.length > 0 && bad.length === 0 ? "pass" : "fail",
      `${kill.length - bad.length}/${kill.length} kill-switch tests passed`,
    );
  }
  if (!i.auditPath) add("audit-integrity", "fail", "no audit log configured");
  else {
    try {
      const v = await verifyLog(i.auditPath);
      add(
        "audit-integrity",
        v.ok && v.checkpoints > 0 ? "pass" : "fail",
        v.ok
          ? `${v.entries} entries, hash chain and ${v.checkpoints} signed checkpoint(s) verified (${v.key})`
          : `not verified: ${v.problem}`,
      );
    } catch (e) {
      add("audit-integrity", "fail", `${i.auditPath}: ${(e as Error).message}`);
    }
  }
  const keys = join(i.state, "keys");
  const dirMode = mode(keys);
  const loose = dirMode === null
    ? []
    : [...Deno.readDirSync(keys)].filter((e) =>
      e.isFile && ((mode(join(keys, e.name)) ?? 0) & 0o077) !== 0
    ).map((e) => e.name);
  add(
    "identity-keys",
    dirMode !== null && (dirMode & 0o077) === 0 && loose.length === 0 ? "pass" : "fail",
    dirMode === null
      ? `no keystore at ${keys}`
      : `keystore ${keys} mode ${dirMode.toString(8)}${
        loose.length ? `; readable by others: ${loose.join(", ")}` : "; key files 0600"
      }`,
  );
  const guard = new ReplayGuard();
  add(
    "signed-messages",
    guard.maxAgeMs > 0 && guard.seqWindow > 0 ? "pass" : "fail",
    `envelopes Ed25519-signed by the sender's host key; replay window ${
      guard.maxAgeMs / 1000
    } s, sequence window ${guard.seqWindow}; transport encryption between hosts is the deployment's (manual)`,
  );
  const readJson = (name: string): { found: boolean; value?: unknown; error?: string } => {
    try {
      return {
        found: true,
        value: JSON.parse(Deno.readTextFileSync(join(i.state, "plugins", name))),
      };
    } catch (e) {
      return e instanceof Deno.errors.NotFound
        ? { found: false }
        : { found: true, error: (e as Error).message };
    }
  };
  const kr = readJson("keyring.json");
  const keyring = kr.value !== undefined ? Keyring.safeParse(kr.value) : null;
  const rv = readJson("revoked.json");
  const revocations = rv.value !== undefined ? Revocations.safeParse(rv.value) : null;
  const publishers = keyring?.success ? keyring.data.publishers.length : 0;
  const revOk = !rv.found || (revocations?.success ?? false);
  add(
    "plugin-signatures",
    publishers > 0 && revOk ? "pass" : "fail",
    `signatures always required; keyring: ${publishers} trusted publisher(s)${
      kr.found && !keyring?.success ? " (unreadable)" : ""
    }; revocation list: ${
      !rv.found
        ? "empty"
        : revOk
        ? `${revocations!.data!.keys.length} key(s), ${
          revocations!.data!.versions.length
        } version(s)`
        : "unreadable"
    }`,
  );
  const mem = decide(i, 2, "memory.write", "long-term");
  add(
    "memory-governance",
    mem.effect !== "allow" ? "pass" : "fail",
    `an unlisted memory.write is ${mem.effect}${mem.rule ? ` by ${mem.rule}` : ""}`,
  );
  const nSlos = i.slos?.slos.length ?? 0;
  let live: { slos?: { slo: string; breached: boolean }[]; at?: string } | null = null;
  try {
    live = JSON.parse(Deno.readTextFileSync(join(i.state, "sre-status.json")));
  } catch { /* no host has written SRE status here */ }
  const breached = live?.slos?.filter((x) => x.breached).map((x) => x.slo) ?? [];
  add(
    "resilience",
    breached.length > 0 ? "fail" : nSlos > 0 || (live?.slos?.length ?? 0) > 0 ? "pass" : "manual",
    breached.length > 0
      ? `SLOs breached at ${live?.at}: ${breached.join(", ")}`
      : nSlos > 0 || (live?.slos?.length ?? 0) > 0
      ? `${Math.max(nSlos, live?.slos?.length ?? 0)} SLO(s) with burn-rate alerts, none breached${
        live?.at ? ` (status ${live.at})` : ""
      }; circuit breakers on every tool and agent`
      : "no SLOs given (--slo FILE) and no SRE status in the state directory; circuit breakers are always on",
  );
  add(
    "tests-pass",
    !tests ? "manual" : tests.failed === 0 && tests.passed > 0 ? "pass" : "fail",
    !tests
      ? "no test results given (--tests junit.xml)"
      : `${tests.passed} passed, ${tests.failed} failed`,
  );
  return r;
}

/** sha-256 of a file (for the evidence bundle). */
export function fileHash(path: string): string {
  return createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
}
