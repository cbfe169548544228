/**
 * memory-governance (OWASP ASI06, memory poisoning), judged by a live probe of the real memory
 * service over a throwaway store, with the configured policy and ring ceilings and the host's
 * default memory settings. Probe agents at ring 2 — one below the host's quarantine trust
 * (350), one standard (550) writing text it declares came from a URL, one trusted (900) — each
 * write a marker to their own namespace and read it back by get, list and search:
 * - fail if a write by the low-trust agent or of URL content comes back to a reader (neither
 *   refused nor quarantined), if another agent reads into the writer's private namespace, or
 *   if an entry modified outside Warden is returned;
 * - pass otherwise, saying which defence held (refused, quarantined, or no memory allowed).
 */
import { DatabaseSync } from "node:sqlite";
import type { AddResult, ComplianceInputs } from "./checks.ts";
import { AuditLog } from "../audit/log.ts";
import { type AgentRef, Governor } from "../governor.ts";
import { MemoryService } from "../memory/service.ts";

const MARKER = "warden-compliance-memory-probe";

function probeAgent(name: string, trust: number): AgentRef {
  const id = `did:key:z6MkCompliance${name}${"x".repeat(30)}`.slice(0, 56);
  return { id, name, ring: 2, trust, labels: {}, workspace: "/srv/ws", code: "/", sdk: "/" };
}

/** Write a marker and read it back every way: "refused", "quarantined", or "returned". */
async function writeBack(
  m: MemoryService,
  a: AgentRef,
  source: "agent" | "url",
): Promise<"refused" | "quarantined" | "returned"> {
  const value = `${MARKER} ${a.name}`;
  try {
    const r = await m.put(a, {
      key: "probe",
      value,
      source: source === "url" ? { kind: "url", ref: "https://probe.invalid/" } : undefined,
    });
    if (!r.quarantined) return "returned";
  } catch {
    return "refused";
  }
  const seen: unknown[] = [];
  const tryRead = async (f: () => Promise<unknown>) => {
    try {
      seen.push(await f());
    } catch { /* a refused read returns nothing */ }
  };
  await tryRead(() => m.get(a, { key: "probe" }));
  await tryRead(() => m.find(a, {}));
  await tryRead(() => m.find(a, { text: MARKER }));
  return JSON.stringify(seen).includes(value) ? "returned" : "quarantined";
}

/** Run the probe (or say why not) and add the control's result. */
export async function probeMemory(i: ComplianceInputs, add: AddResult): Promise<void> {
  if (i.live === false) {
    add("memory-governance", "manual", "live probes disabled: nothing else is evidence");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "warden-compliance-memory-" });
  const audit: { action: string }[] = [];
  const log = new AuditLog();
  log.subscribe((e) => audit.push(e));
  const governor = new Governor(i.policy, i.rings, log);
  const m = new MemoryService(governor, dir);
  try {
    const low = probeAgent("Low", 350);
    const web = probeAgent("Web", 550);
    const trusted = probeAgent("Trusted", 900);
    const lowOut = await writeBack(m, low, "agent");
    const webOut = await writeBack(m, web, "url");
    const problems: string[] = [];
    if (lowOut === "returned") problems.push("a trust-350 agent's write was returned to a reader");
    if (webOut === "returned") {
      problems.push(
        "a URL-sourced write was returned unreviewed (refuse or quarantine it: a require_approval " +
          "rule on memory.write with args.source.kind url, or the host's quarantine.sources)",
      );
    }
    // Isolation: another agent reading into the writer's private namespace.
    let crossed = false;
    try {
      await m.get(trusted, { namespace: low.id, key: "probe" });
      crossed = true; // not refused, whatever it found
    } catch { /* refused */ }
    if (crossed) problems.push("an agent read another agent's private namespace");
    // Integrity: an entry changed outside Warden is withheld and audited.
    let integrity = "not exercised (the policy allows the trusted probe no memory write)";
    let stored = false;
    try {
      stored = !(await m.put(trusted, { key: "probe", value: `${MARKER} trusted` })).quarantined;
    } catch { /* refused */ }
    if (stored) {
      m.close();
      const db = new DatabaseSync(m.path);
      db.exec(`UPDATE entries SET value = '"tampered"' WHERE key = 'probe' AND status = 'visible'`);
      db.close();
      let got: unknown = "refused";
      try {
        got = await m.get(trusted, { key: "probe" });
      } catch { /* refused: not returned either */ }
      const audited = audit.some((e) => e.action === "memory.integrity");
      if (got !== null && got !== "refused") problems.push("a tampered entry was returned");
      else if (!audited) problems.push("a tampered entry was withheld but not audited");
      integrity = "a tampered entry was withheld and audited";
    }
    const evidence =
      `probe writes at ring 2: trust 350 ${lowOut}, URL-sourced at trust 550 ${webOut}; another agent's namespace ${
        crossed ? "NOT refused" : "refused"
      }; integrity: ${integrity}`;
    add(
      "memory-governance",
      problems.length ? "fail" : "pass",
      problems.length ? `${problems.join("; ")} (${evidence})` : evidence,
    );
  } finally {
    m.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
