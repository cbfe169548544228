/**
 * Issue 16 class 17: a control passes only on a live probe of the configured system or on
 * recorded results that prove the property; on a hollow configuration it is manual or fail.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { compilePolicy } from "../../governance/mod.ts";
import type { ControlResult } from "../../governance/compliance/mod.ts";
import { compileSlos } from "../../governance/sre/mod.ts";
import { type ComplianceInputs, runChecks } from "../../runtime/compliance/checks.ts";
import { buildReport } from "../../runtime/compliance/report.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { SreService } from "../../runtime/sre/service.ts";
import { wellConfigured } from "./helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** A home with a keystore, a trusted publisher and a checkpointed audit log. */
async function home() {
  const w = await wellConfigured();
  return { dir: w.home, audit: w.audit };
}

const shipped = () => loadPolicy(["policies/agents.yaml"], { builtin: true });

async function checks(extra: Partial<ComplianceInputs> & { state: string }) {
  const controls = await runChecks({ policy: shipped(), rings: loadRings(), ...extra });
  return { controls, report: buildReport(controls) };
}

const control = (cs: ControlResult[], id: string) => {
  const c = cs.find((x) => x.control === id);
  if (!c) throw new Error(`no control ${id} in ${cs.map((x) => x.control).join(", ")}`);
  return c;
};
const req = (r: ReturnType<typeof buildReport>, id: string) =>
  r.requirements.find((q) => q.id === id)!.status;

function mentions(c: ControlResult, ...parts: string[]) {
  for (const p of parts) {
    if (!c.evidence.includes(p)) {
      throw new Error(`${c.control} evidence lacks "${p}": ${c.evidence}`);
    }
  }
}

/** JUnit names that merely look right: the old kill-switch and escape checks passed on these. */
const LOOKALIKE = `<testsuites><testsuite name="./fake_test.ts">${
  Array.from(
    { length: 16 },
    (_, i) => `<testcase name="escape ${i}: blocked" classname="./fake_test.ts" time="0.1"/>`,
  ).join("")
}<testcase name="kill timeout busy loop" classname="./fake_test.ts" time="0.1"/></testsuite></testsuites>`;

/** JUnit for the real escape suite, every case passed (or some skipped / failed). */
function escapeJunit(o: { skip?: number; fail?: number } = {}): string {
  const src = Deno.readTextFileSync("tests/host/escape_test.ts");
  const names = [...src.matchAll(/Deno\.test\(\s*"(escape[^"]*)"/g)].map((m) => m[1]);
  const cls = "./tests/host/escape_test.ts";
  const esc = (s: string) => s.replaceAll("&", "&amp;").replaceAll('"', "&quot;");
  return `<testsuites><testsuite name="${cls}">${
    names.map((n, i) =>
      `<testcase name="${esc(n)}" classname="${cls}" time="0.1">${
        i === o.skip ? "<skipped/>" : i === o.fail ? '<failure message="x">x</failure>' : ""
      }</testcase>`
    ).join("")
  }</testsuite></testsuites>`;
}

Deno.test(
  "kill-switch: test names are not evidence; a live kill of a busy loop is",
  opts,
  async () => {
    const h = await home();
    try {
      const off = await checks({ state: h.dir, auditPath: h.audit, junit: LOOKALIKE, live: false });
      const k = control(off.controls, "kill-switch");
      assertEquals(k.status === "pass", false, k.evidence);
      const on = await checks({ state: h.dir, auditPath: h.audit, junit: LOOKALIKE });
      const live = control(on.controls, "kill-switch");
      assertEquals(live.status, "pass", live.evidence);
      mentions(live, "SIGKILL", "reaped", "agent.kill audited");
    } finally {
      await Deno.remove(h.dir, { recursive: true });
    }
  },
);

Deno.test("escape-tests: look-alike names, skipped or failed cases do not pass", opts, async () => {
  const h = await home();
  try {
    for (const junit of [LOOKALIKE, escapeJunit({ skip: 2 }), escapeJunit({ fail: 0 })]) {
      const { controls } = await checks({ state: h.dir, junit, live: false });
      const e = control(controls, "escape-tests");
      assertEquals(e.status, "fail", e.evidence);
    }
    const { controls } = await checks({ state: h.dir, junit: escapeJunit(), live: false });
    assertEquals(control(controls, "escape-tests").status, "pass");
    const t = await checks({ state: h.dir, junit: escapeJunit({ skip: 1 }), live: false });
    mentions(control(t.controls, "tests-pass"), "1 skipped");
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});

Deno.test(
  "signed messages: a live seal/deliver/tamper/replay probe; plain HTTP transport is not a pass",
  opts,
  async () => {
    const h = await home();
    try {
      const { controls, report } = await checks({ state: h.dir, auditPath: h.audit });
      const m = control(controls, "signed-messages");
      assertEquals(m.status, "pass", m.evidence);
      mentions(m, "delivered", "tampered payload", "replayed", "bad signature", "audited");
      const t = control(controls, "transport-security");
      assertEquals(t.status, "manual", t.evidence);
      mentions(t, "plain HTTP");
      assertEquals(req(report, "164.312(e)(1)") === "pass", false);
      assertEquals(req(report, "ASI07") === "pass", false);
      const peers = await checks({
        state: h.dir,
        auditPath: h.audit,
        peers: ["http://10.1.2.3:8788"],
        live: false,
      });
      assertEquals(control(peers.controls, "transport-security").status, "fail");
      assertEquals(req(peers.report, "164.312(e)(1)"), "fail");
    } finally {
      await Deno.remove(h.dir, { recursive: true });
    }
  },
);

Deno.test("memory governance is not a pass without its live probe", opts, async () => {
  const h = await home();
  try {
    const { controls, report } = await checks({ state: h.dir, live: false });
    const m = control(controls, "memory-governance");
    assertEquals(m.status, "manual", m.evidence);
    mentions(m, "live probes disabled");
    assertEquals(req(report, "ASI06"), "manual");
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});

const SLOS = `apiVersion: warden/v1
kind: SLOs
slos:
  - name: tools-succeed
    kind: success
    target: 0.9
    window: 1h
`;

Deno.test(
  "resilience: an SLO file with nothing measured is manual; measured events pass",
  opts,
  async () => {
    const h = await home();
    const slos = compileSlos(SLOS, "slos.yaml");
    try {
      const none = await checks({ state: h.dir, slos, live: false });
      const r0 = control(none.controls, "resilience");
      assertEquals(r0.status, "manual", r0.evidence);
      mentions(r0, "nothing measured");
      // A status file in the old shape (SLOs listed, no measured events) is not evidence either.
      await Deno.writeTextFile(
        join(h.dir, "sre-status.json"),
        JSON.stringify({ at: new Date().toISOString(), slos: [{ slo: "tools-succeed" }] }),
      );
      const hollow = await checks({ state: h.dir, slos, live: false });
      assertEquals(control(hollow.controls, "resilience").status, "manual");
      // A real SRE service measuring real outcomes writes the evidence.
      const sre = new SreService(
        { slos, statusPath: join(h.dir, "sre-status.json"), evaluateMs: 3_600_000 },
        () => {},
      );
      const agent = {
        id: "did:key:z6MkX",
        name: "a",
        ring: 2,
        trust: 500,
        labels: {},
        workspace: "/w",
        code: "/c",
        sdk: "/s",
      };
      for (let i = 0; i < 5; i++) sre.after(agent, "search", 3, true);
      sre.close();
      const measured = await checks({ state: h.dir, slos, live: false });
      const r1 = control(measured.controls, "resilience");
      assertEquals(r1.status, "pass", r1.evidence);
      mentions(r1, "tools-succeed: 5/5 good");
      // A stale snapshot is not evidence of the present.
      const snap = JSON.parse(await Deno.readTextFile(join(h.dir, "sre-status.json")));
      snap.at = new Date(Date.now() - 3 * 86_400_000).toISOString();
      await Deno.writeTextFile(join(h.dir, "sre-status.json"), JSON.stringify(snap));
      const stale = await checks({ state: h.dir, slos, live: false });
      assertEquals(control(stale.controls, "resilience").status, "manual");
    } finally {
      await Deno.remove(h.dir, { recursive: true });
    }
  },
);

Deno.test("default-deny is judged by probes, not by the default alone", opts, async () => {
  const h = await home();
  try {
    const catchAll = compilePolicy(
      "apiVersion: warden/v1\nkind: Policy\nname: t\ndefault: deny\nrules:\n" +
        "  - id: everything\n    effect: allow\n    action: '*'\n",
    );
    const { controls } = await checks({ state: h.dir, policy: catchAll, live: false });
    const d = control(controls, "default-deny");
    assertEquals(d.status, "fail", d.evidence);
    mentions(d, "everything");
    const ok = await checks({ state: h.dir, live: false });
    assertEquals(control(ok.controls, "default-deny").status, "pass");
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});

Deno.test("approvals and plugin signatures are probed live", opts, async () => {
  const h = await home();
  try {
    const { controls } = await checks({ state: h.dir });
    const a = control(controls, "approvals");
    assertEquals(a.status, "pass", a.evidence);
    mentions(a, "timed out to deny", "hash mismatch refused");
    const p = control(controls, "plugin-signatures");
    assertEquals(p.status, "pass", p.evidence);
    mentions(p, "unsigned plugin refused", "untrusted publisher refused", "changed file refused");
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});

Deno.test("identity-keys: an empty keystore directory is not a pass", opts, async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "keys"), { mode: 0o700 });
    await Deno.chmod(join(dir, "keys"), 0o700);
    const { controls } = await checks({ state: dir, live: false });
    assertEquals(control(controls, "identity-keys").status, "fail");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plugin-signatures fails when an installed plugin no longer verifies", opts, async () => {
  const { copyExample, newSigner, tempStore } = await import("../plugins/helpers.ts");
  const { signPluginFolder } = await import("../../runtime/plugins/mod.ts");
  const { root, store } = await tempStore();
  try {
    const signer = await newSigner();
    store.trust(signer.did, "acme");
    const dir = await copyExample(root);
    await signPluginFolder(dir, signer);
    await store.install(dir, { ring: 2 });
    const ok = await checks({ state: store.state, live: true });
    assertEquals(control(ok.controls, "plugin-signatures").status, "pass");
    mentions(control(ok.controls, "plugin-signatures"), "installed plugins: 1 verified");
    await Deno.writeTextFile(join(store.installDir("weather"), "main.ts"), "// changed\n", {
      append: true,
    });
    const bad = await checks({ state: store.state, live: true });
    const p = control(bad.controls, "plugin-signatures");
    assertEquals(p.status, "fail", p.evidence);
    mentions(p, "failing verification: weather");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test(
  "tests-pass: one trivial passing test is not the suite; every test file must be in the results",
  opts,
  async () => {
    const h = await home();
    const tmp = await Deno.makeTempDir();
    const root = join(tmp, "tests");
    try {
      await Deno.mkdir(join(root, "a"), { recursive: true });
      await Deno.writeTextFile(join(root, "a", "one_test.ts"), "");
      await Deno.writeTextFile(join(root, "two_test.ts"), "");
      await Deno.writeTextFile(join(root, "helper.ts"), "");
      const junit = (files: string[]) =>
        `<testsuites>${
          files.map((f) =>
            `<testsuite name="./tests/${f}"><testcase name="t" classname="./tests/${f}" time="0"/></testsuite>`
          ).join("")
        }</testsuites>`;
      const one = await checks({
        state: h.dir,
        junit: junit(["two_test.ts"]),
        testsRoot: root,
        live: false,
      });
      const t = control(one.controls, "tests-pass");
      assertEquals(t.status, "fail", t.evidence);
      mentions(t, "a/one_test.ts");
      const all = await checks({
        state: h.dir,
        junit: junit(["two_test.ts", "a/one_test.ts"]),
        testsRoot: root,
        live: false,
      });
      assertEquals(control(all.controls, "tests-pass").status, "pass");
    } finally {
      await Deno.remove(h.dir, { recursive: true });
      await Deno.remove(tmp, { recursive: true });
    }
  },
);
