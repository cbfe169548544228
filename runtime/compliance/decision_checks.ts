/** Controls judged by probe decisions of the configured policy and ring ceilings. */
import { ACTION_KINDS } from "../../governance/policy/actions.ts";
import type { AddResult, ComplianceInputs } from "./checks.ts";

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

/** default-deny, ring-ceilings and no-code-exec: unlisted, escaping and code-running probes. */
export function checkDecisions(i: ComplianceInputs, add: AddResult): void {
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
}

/** tool-governance: probe calls of unlisted tools. */
export function checkTools(i: ComplianceInputs, add: AddResult): void {
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
}
