/** Live checks: each control judged against the running configuration, with its evidence. */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { CompiledPolicy } from "../../governance/mod.ts";
import type { RingCeilings } from "../../governance/rings/mod.ts";
import type { SloDocument } from "../../governance/sre/mod.ts";
import { z } from "zod";
import { ACTION_KINDS } from "../../governance/policy/actions.ts";
import type { ControlId, ControlResult } from "../../governance/compliance/mod.ts";
import { verifyLog } from "../audit/verify.ts";
import { Keyring, Revocations } from "../../governance/plugins/trust.ts";
import { PluginStore } from "../plugins/store.ts";
import { landlockSandbox } from "../supervisor/sandbox/build.ts";
import {
  probeApprovals,
  probeKernelSandbox,
  probeKillSwitch,
  probeMessages,
  probePlugins,
} from "./probes.ts";

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

/** Warden's test suite (every `*_test.ts` under it must be in the results). */
export const TESTS_ROOT = new URL("../../tests", import.meta.url).pathname;

/** Largest age of the host's SRE status that still counts as evidence (24 h). */
const SRE_MAX_AGE_MS = 86_400_000;
/** The adversarial escape suite shipped with Warden. */
export const ESCAPE_SUITE = new URL("../../tests/host/escape_test.ts", import.meta.url).pathname;

/** Pass/fail counts and names from a JUnit report. */
export function junitSummary(
  xml: string,
): {
  passed: number;
  failed: number;
  skipped: number;
  names: string[];
  failedNames: string[];
  skippedNames: string[];
  /** Each case as `classname::name`, with its outcome. */
  cases: { file: string; name: string; outcome: "passed" | "failed" | "skipped" }[];
} {
  const unxml = (v: string) =>
    v.replaceAll("&quot;", '"').replaceAll("&apos;", "'").replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">").replaceAll("&amp;", "&");
  const names: string[] = [];
  const failedNames: string[] = [];
  const skippedNames: string[] = [];
  const cases: { file: string; name: string; outcome: "passed" | "failed" | "skipped" }[] = [];
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attrs = m[1];
    const nameAttr = /\bname="([^"]*)"/.exec(attrs);
    if (!nameAttr) continue;
    const name = unxml(nameAttr[1]);
    const file = unxml(/\bclassname="([^"]*)"/.exec(attrs)?.[1] ?? "");
    names.push(name);
    // A skipped (ignored) test proved nothing: it is not counted as passed.
    const outcome = m[3] && /<(failure|error)\b/.test(m[3])
      ? "failed"
      : m[3] && /<skipped\b/.test(m[3])
      ? "skipped"
      : "passed";
    if (outcome === "failed") failedNames.push(name);
    if (outcome === "skipped") skippedNames.push(name);
    cases.push({ file, name, outcome });
  }
  return {
    passed: names.length - failedNames.length - skippedNames.length,
    failed: failedNames.length,
    skipped: skippedNames.length,
    names,
    failedNames,
    skippedNames,
    cases,
  };
}

/** The names of the escape cases a suite declares (`Deno.test("escape …"`). */
export function escapeCaseNames(source: string): string[] {
  return [...source.matchAll(/Deno\.test\(\s*(?:\{\s*name:\s*)?"(escape[^"]*)"/g)].map((m) => m[1]);
}

const agent = (ring: number) => ({
  id: "did:key:z6MkCompliance",
  name: "compliance-probe",
  ring,
  trust: 500,
  labels: {},
});

function probeRequest(ring: number, action: string, resource: string) {
  return {
    agent: agent(ring),
    action,
    resource,
    args: {},
    context: { workspace: "/srv/ws", code: "/srv/code", sdk: "/srv/sdk" },
  };
}

/** The decision for a probe request (ceiling first, then policy). */
function decide(i: ComplianceInputs, ring: number, action: string, resource: string) {
  const req = probeRequest(ring, action, resource);
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
  const live = i.live ?? true;

  // Default deny: the default, and probes nobody would list, decided by the policy alone. A
  // catch-all allow (`action: "*"`), an allowed unknown action, or an allow of any path, URL
  // or host makes the default meaningless; whole-action allows of named resources (outputs,
  // sagas) are listings, shown for review.
  const probeActions = [...Object.keys(ACTION_KINDS), "warden.compliance-probe"];
  const probes = [2, 3].flatMap((ring) =>
    probeActions.map((action) => {
      const kind = Object.hasOwn(ACTION_KINDS, action) ? ACTION_KINDS[action] : "name";
      const resource = kind === "path"
        ? "/nonexistent/warden-compliance-probe"
        : kind === "url"
        ? "https://warden-compliance-probe.invalid/x"
        : kind === "hostport"
        ? "warden-compliance-probe.invalid:9"
        : kind === "uri"
        ? "probe://warden-compliance-probe.invalid/x"
        : "warden-compliance-probe-unlisted";
      return {
        action,
        kind,
        resource,
        ring,
        d: i.policy.evaluate(probeRequest(ring, action, resource)),
      };
    })
  );
  const allowedProbes = probes.filter((u) => u.d.effect === "allow");
  const catchAll = allowedProbes.filter((u) =>
    !Object.hasOwn(ACTION_KINDS, u.action) || u.kind !== "name" ||
    i.policy.rules.some((r) => r.id === u.d.rule && r.actions.includes("*"))
  );
  const listed = allowedProbes.filter((u) => !catchAll.includes(u));
  const show = (l: typeof probes) =>
    [...new Set(l.map((u) => `${u.action} (by ${u.d.rule})`))].join(", ");
  add(
    "default-deny",
    i.policy.defaultEffect === "deny" && catchAll.length === 0 ? "pass" : "fail",
    `policy ${i.policy.names.join(" + ")} default is ${i.policy.defaultEffect}; ${
      catchAll.length === 0
        ? `unlisted probes of ${probeActions.length} actions at rings 2 and 3 are not allowed`
        : `allowed unlisted: ${show(catchAll)}`
    }${listed.length ? `; whole-action allows to review: ${show(listed)}` : ""}`,
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
  // Escape tests: every case the shipped escape suite declares must be in the results, from
  // that suite's file, and have passed (not failed, not skipped). Look-alike names elsewhere
  // prove nothing.
  const suite = ESCAPE_SUITE;
  let declared: string[] | null = null;
  try {
    declared = escapeCaseNames(Deno.readTextFileSync(suite));
  } catch { /* no suite on this machine */ }
  if (!tests) add("escape-tests", "manual", "no test results given (--tests junit.xml)");
  else if (!declared || declared.length === 0) {
    add("escape-tests", "manual", `the escape suite ${suite} is not available to compare with`);
  } else {
    const tail = suite.split("/").slice(-3).join("/");
    const ran = new Map(
      tests.cases.filter((c) => c.file.endsWith(tail)).map((c) => [c.name, c.outcome]),
    );
    const missing = declared.filter((n) => !ran.has(n));
    const skipped = declared.filter((n) => ran.get(n) === "skipped");
    const failed = declared.filter((n) => ran.get(n) === "failed");
    const ok = declared.length - missing.length - skipped.length - failed.length;
    add(
      "escape-tests",
      ok === declared.length ? "pass" : "fail",
      `${ok}/${declared.length} cases of ${tail} passed${
        failed.length ? `; failed: ${failed.join(", ")}` : ""
      }${skipped.length ? `; skipped: ${skipped.join(", ")}` : ""}${
        missing.length ? `; not in the results: ${missing.length}` : ""
      }`,
    );
  }
  const sb = landlockSandbox();
  if (!sb.path) add("kernel-sandbox", "fail", `no kernel sandbox: ${sb.why}`);
  else {
    const k = await probeKernelSandbox(sb.path);
    add("kernel-sandbox", k.status, k.evidence);
  }
  // Tool governance: unlisted tools (including prototype names) are denied at rings 2 and 3.
  const toolProbes = [2, 3].flatMap((ring) =>
    ["a-tool-nobody-registered", "__proto__", "constructor"].map((t) => ({
      ring,
      t,
      d: decide(i, ring, "tool.call", t),
    }))
  );
  const toolLeaks = toolProbes.filter((p) => p.d.effect !== "deny");
  add(
    "tool-governance",
    toolLeaks.length === 0 ? "pass" : "fail",
    toolLeaks.length === 0
      ? `probe calls of ${toolProbes.length / 2} unlisted tools are denied at rings 2 and 3`
      : `not denied: ${
        toolLeaks.map((p) => `ring ${p.ring} tool ${p.t} (${p.d.effect} by ${p.d.rule})`).join(", ")
      }`,
  );
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
  const keyFiles = dirMode === null ? [] : [...Deno.readDirSync(keys)].filter((e) => e.isFile);
  const loose = keyFiles.filter((e) => ((mode(join(keys, e.name)) ?? 0) & 0o077) !== 0).map((e) =>
    e.name
  );
  add(
    "identity-keys",
    dirMode !== null && (dirMode & 0o077) === 0 && keyFiles.length > 0 && loose.length === 0
      ? "pass"
      : "fail",
    dirMode === null
      ? `no keystore at ${keys}`
      : keyFiles.length === 0
      ? `keystore ${keys} holds no keys`
      : `keystore ${keys} mode ${dirMode.toString(8)}, ${keyFiles.length} key file(s)${
        loose.length ? `; readable by others: ${loose.join(", ")}` : ", all 0600"
      }`,
  );
  // Signed messages: a live seal / deliver / tamper / replay / forgery probe.
  let peerUrl: string | null = null;
  if (!live) add("signed-messages", "manual", "live probes disabled: nothing else is evidence");
  else {
    const m = await probeMessages(i.policy, i.rings);
    peerUrl = m.peerUrl;
    add("signed-messages", m.status, m.evidence);
  }
  // Transmission security: the peer endpoint serves plain HTTP (signed, not encrypted), so it
  // fails when the host sends to peers over http:, and needs a human otherwise.
  const peers = i.peers ?? [];
  const plain = peers.filter((p) => {
    try {
      return new URL(p).protocol !== "https:";
    } catch {
      return true;
    }
  });
  const endpoint = `the peer endpoint${peerUrl ? ` (probed at ${peerUrl})` : ""} is plain HTTP`;
  add(
    "transport-security",
    plain.length > 0 ? "fail" : "manual",
    plain.length > 0
      ? `messages to ${
        plain.join(", ")
      } cross hosts unencrypted: ${endpoint}; envelopes are signed, not encrypted`
      : peers.length > 0
      ? `${endpoint}; the https: peers (${
        peers.join(", ")
      }) terminate TLS outside Warden: review it`
      : `${endpoint} and no peers are configured; envelopes are signed, not encrypted: encryption between hosts must come from the deployment and be reviewed`,
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
  const probe = publishers > 0 && revOk && live
    ? await probePlugins(
      keyring!.data!,
      revocations?.success ? revocations.data : { v: 1, keys: [], versions: [] },
    )
    : null;
  // Every installed plugin must still verify against the current keyring and revocations.
  const store = new PluginStore(i.state);
  let installed: string[] = [];
  const broken: string[] = [];
  try {
    installed = Object.keys(store.installed());
  } catch (e) {
    broken.push(`installed.json: ${(e as Error).message}`);
  }
  for (const name of installed) {
    try {
      await store.verifyInstalled(name);
    } catch (e) {
      broken.push(`${name}: ${(e as Error).message}`);
    }
  }
  add(
    "plugin-signatures",
    publishers > 0 && revOk && probe?.status === "pass" && broken.length === 0
      ? "pass"
      : probe || !revOk || publishers === 0 || broken.length > 0
      ? "fail"
      : "manual",
    `${
      probe ? probe.evidence : live ? "nothing to probe against" : "live probes disabled"
    }; installed plugins: ${
      broken.length ? `failing verification: ${broken.join("; ")}` : `${installed.length} verified`
    }; keyring: ${publishers} trusted publisher(s)${
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
  // Memory: Warden has no memory store, so nothing can show memory is governed; a probe
  // decision on a store that does not exist is not evidence.
  const mem = decide(i, 2, "memory.write", "long-term");
  add(
    "memory-governance",
    "manual",
    `no memory store: Warden provides none, so memory.read/memory.write have nothing to govern (a probe memory.write would be ${mem.effect}); agents' own persistence is governed as fs.* in their workspace — review how each agent keeps context`,
  );
  add("resilience", ...resilience(i));
  add("tests-pass", ...testsPass(i, tests));
  return r;
}

/** Every `*_test.ts` under `root`, relative to it. */
function testFiles(root: string, dir = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(root, dir))) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...testFiles(root, rel));
    else if (e.isFile && e.name.endsWith("_test.ts")) out.push(rel);
  }
  return out.sort();
}

/**
 * The suite passes only when the results cover every test file of the suite (a handful of
 * passing tests proves nothing about the rest) and nothing failed.
 */
function testsPass(
  i: ComplianceInputs,
  tests: ReturnType<typeof junitSummary> | null,
): [ControlResult["status"], string] {
  if (!tests) return ["manual", "no test results given (--tests junit.xml)"];
  const counts = `${tests.passed} passed, ${tests.failed} failed, ${tests.skipped} skipped`;
  const root = i.testsRoot ?? TESTS_ROOT;
  let files: string[];
  try {
    files = testFiles(root);
  } catch {
    return ["manual", `${counts}; the test suite ${root} is not available to compare with`];
  }
  const ran = new Set(tests.cases.map((c) => c.file.replace(/^\.\//, "")));
  const base = root.replace(/\/+$/, "").split("/").at(-1) ?? "tests";
  const missing = files.filter((f) =>
    ![...ran].some((r) => r === `${base}/${f}` || r.endsWith(`/${base}/${f}`))
  );
  if (tests.failed > 0) {
    return ["fail", `${counts}; failed: ${tests.failedNames.slice(0, 10).join(", ")}`];
  }
  if (missing.length > 0 || tests.passed === 0) {
    return [
      "fail",
      `${counts}; ${missing.length} of ${files.length} test files are not in the results: ${
        missing.slice(0, 10).join(", ")
      }${missing.length > 10 ? ", …" : ""}`,
    ];
  }
  return ["pass", `${counts}; all ${files.length} test files of ${root} in the results`];
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
