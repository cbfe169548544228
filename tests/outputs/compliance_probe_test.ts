/**
 * ASI05's output-rules control is judged by a live probe: a real agent tries to get a token
 * out through emit, log and an http.fetch body. It fails when the token leaves (no outputs:
 * rules), and passes when the rules redact it on every channel (or the policy refuses one).
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import type { ControlResult } from "../../governance/compliance/mod.ts";
import { compilePolicySet } from "../../governance/mod.ts";
import { attachOutputRules, compileOutputRules } from "../../governance/outputs/mod.ts";
import { probeOutputs } from "../../runtime/compliance/output_probe.ts";
import { BUILTIN_POLICY, loadPolicy, loadRings } from "../../runtime/policy/loader.ts";

function withBuiltins(text: string) {
  const sources = [
    { path: BUILTIN_POLICY, text: Deno.readTextFileSync(BUILTIN_POLICY) },
    { path: "open.yaml", text },
  ];
  return attachOutputRules(compilePolicySet(sources), compileOutputRules(sources));
}

async function probe(policy: ReturnType<typeof withBuiltins>): Promise<ControlResult> {
  const out: ControlResult[] = [];
  await probeOutputs(
    { policy, rings: loadRings(), state: "/nonexistent" },
    (control, status, evidence) => out.push({ control, status, evidence }),
  );
  assertEquals(out.length, 1);
  assertEquals(out[0].control, "output-rules");
  return out[0];
}

const OPEN = "apiVersion: warden/v1\nkind: Policy\nname: open\ndefault: allow\nrules:\n" +
  "  - { id: no-run, effect: deny, action: [run, ffi] }\n";

Deno.test("output-rules fails when a credential leaves through emit, log and http.fetch", async () => {
  const r = await probe(withBuiltins(OPEN));
  assertEquals(r.status, "fail", r.evidence);
  assert(r.evidence.includes("through emit, log, http.fetch"), r.evidence);
});

Deno.test("output-rules passes when the rules redact the credential on every channel", async () => {
  const r = await probe(
    withBuiltins(OPEN + "outputs:\n  dlp:\n    - { id: creds, builtin: all, effect: redact }\n"),
  );
  assertEquals(r.status, "pass", r.evidence);
  assert(r.evidence.includes("redacted on emit, log, http.request"), r.evidence);
});

Deno.test("the shipped agents policy passes: redacted on emit and log, http.fetch refused", async () => {
  const r = await probe(loadPolicy(["policies/agents.yaml"], { builtin: true }));
  assertEquals(r.status, "pass", r.evidence);
  assert(/redacted on emit, log; refused: http/.test(r.evidence), r.evidence);
});
