/**
 * ASI06 (memory-governance) is judged by a live probe of the memory service with the
 * configured policy: it passes when poisoned writes are refused or quarantined and a tampered
 * entry is withheld, and fails when URL content reaches readers unreviewed.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { compilePolicy } from "../../governance/mod.ts";
import type { ControlResult } from "../../governance/compliance/mod.ts";
import { probeMemory } from "../../runtime/compliance/memory_probe.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { MEMORY_POLICY } from "./helpers.ts";

async function judge(policy: ReturnType<typeof compilePolicy>, live = true) {
  const out: ControlResult[] = [];
  await probeMemory(
    { policy, rings: loadRings(), state: "/nonexistent", live },
    (control, status, evidence) => out.push({ control, status, evidence }),
  );
  assertEquals(out.length, 1);
  assertEquals(out[0].control, "memory-governance");
  return out[0];
}

Deno.test("ASI06 passes on a policy that quarantines low-trust and web writes", async () => {
  const r = await judge(compilePolicy(MEMORY_POLICY));
  assertEquals(r.status, "pass", r.evidence);
  assert(r.evidence.includes("trust 350 quarantined"), r.evidence);
  assert(r.evidence.includes("URL-sourced at trust 550 quarantined"), r.evidence);
  assert(r.evidence.includes("a tampered entry was withheld and audited"), r.evidence);
});

Deno.test("ASI06 fails when URL content reaches readers unreviewed", async () => {
  const open = compilePolicy(`apiVersion: warden/v1
kind: Policy
name: open-memory
default: deny
rules:
  - id: memory
    effect: allow
    action: [memory.read, memory.write, memory.delete]
`);
  const r = await judge(open);
  assertEquals(r.status, "fail", r.evidence);
  // The host's own setting still quarantined the trust-350 writer.
  assert(r.evidence.includes("trust 350 quarantined"), r.evidence);
  assert(r.evidence.includes("URL-sourced write was returned unreviewed"), r.evidence);
});

Deno.test("ASI06 with the shipped policy: no memory write is allowed; manual without live probes", async () => {
  const shipped = loadPolicy(["policies/agents.yaml"], { builtin: true });
  const r = await judge(shipped);
  assertEquals(r.status, "pass", r.evidence);
  assert(r.evidence.includes("trust 350 refused"), r.evidence);
  assertEquals((await judge(shipped, false)).status, "manual");
});
