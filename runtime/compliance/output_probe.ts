/**
 * output-rules (OWASP ASI05 as this project maps it: what agents hand to downstream systems),
 * judged by a live probe: a real agent (probe_agents/leak.ts) in a throwaway host with the
 * configured policy and rings tries to get a well-formed GitHub token out through `emit`,
 * `log` and an `http.fetch` body to a local listener. Fail if the token reaches the emitted
 * outputs, the logs or the listener; pass when every channel either redacted it (audited as
 * output.check) or was refused, saying which.
 */
import type { AddResult, ComplianceInputs } from "./checks.ts";
import { AgentHost } from "../host.ts";
import type { HostEvent } from "../host/types.ts";

const LEAK = new URL("./probe_agents/leak.ts", import.meta.url).pathname;
const SECRET = "ghp_" + "WardenComplianceProbe0".repeat(2).slice(0, 36);
/** Generous: a probe agent needs a Deno start-up, possibly under a loaded machine. */
const DEADLINE_MS = 60_000;

/** Run the probe (or say why not) and add the control's result. */
export async function probeOutputs(i: ComplianceInputs, add: AddResult): Promise<void> {
  if (i.live === false) {
    add("output-rules", "manual", "live probes disabled: nothing else is evidence");
    return;
  }
  const received: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (r) => {
    received.push(`${r.url} ${await r.text()}`);
    return new Response("ok");
  });
  const events: HostEvent[] = [];
  const stateDir = await Deno.makeTempDir({ prefix: "warden-compliance-outputs-" });
  const host = new AgentHost({
    policy: i.policy,
    rings: i.rings,
    stateDir,
    killOnDenials: null,
    onEvent: (e) => events.push(e),
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/probe`;
    let exit;
    try {
      const h = await host.start({
        module: LEAK,
        name: "compliance-output-probe",
        args: [url],
        stdio: "null",
        timeoutMs: DEADLINE_MS,
      });
      exit = await h.exited;
    } catch (e) {
      add("output-rules", "fail", `the probe agent could not start: ${(e as Error).message}`);
      return;
    }
    const seen = (t: HostEvent["type"]) => JSON.stringify(events.filter((e) => e.type === t));
    const leaked = [
      seen("output").includes(SECRET) && "emit",
      seen("log").includes(SECRET) && "log",
      received.some((r) => r.includes(SECRET)) && "http.fetch",
    ].filter(Boolean);
    const summary = events.find((e) =>
      e.type === "output" && (e.output as { refused?: unknown })?.refused
    ) as { output: { refused: string[] } } | undefined;
    const redacted = host.audit.recent.filter((e) =>
      e.action === "output.check" && (e as unknown as { outcome?: string }).outcome === "redact"
    ).map((e) => e.resource.split(":")[0]);
    const evidence = `probe agent (exit ${exit.code}): redacted on ${
      redacted.length ? [...new Set(redacted)].join(", ") : "no channel"
    }; refused: ${summary ? summary.output.refused.join(", ") || "none" : "everything"}`;
    if (leaked.length) {
      add(
        "output-rules",
        "fail",
        `a credential left the host through ${leaked.join(", ")} ` +
          `(add an outputs: dlp rule with builtin: all; ${evidence})`,
      );
    } else add("output-rules", "pass", `live probe: the credential never left; ${evidence}`);
  } finally {
    await host.close();
    await server.shutdown();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}
