/**
 * Compatible file refusals cost no trust (issue 19): a Node-style program probing hundreds of
 * optional files it may not read (`existsSync`, answered `false`) is not a violator — each
 * probe is decided and audited as a deny, but no trust event and no denial-flood count — while
 * a read a policy rule with a severity refuses still counts.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { loadPolicy } from "../../runtime/policy/loader.ts";
import { answeredCompatibly } from "../../runtime/governor.ts";
import { collectRun, describe, newHost } from "../host/helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const AGENT = new URL("../fixtures/compat_fs/probe_many.ts", import.meta.url).pathname;
const PROBES = 200;

Deno.test("200 refused existsSync probes cost no trust; a severity rule still counts", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-fstrust-" }));
  const trapPolicy = join(tmp, "trap.yaml");
  Deno.writeTextFileSync(
    trapPolicy,
    [
      "apiVersion: warden/v1",
      "kind: Policy",
      "name: trap",
      "rules:",
      "  - id: trap-file",
      "    effect: deny",
      "    action: fs.read",
      "    severity: low",
      "    reason: a honeypot file",
      '    when: { path: { glob: ["**/trap-*"] } }',
      "",
    ].join("\n"),
  );
  const outside = join(tmp, "outside");
  Deno.mkdirSync(outside);
  const ws = join(tmp, "ws");
  Deno.mkdirSync(ws);
  // In the workspace (inside the ring's read ceiling), where the policy's deny rule decides.
  const trap = join(ws, "trap-credentials.json");
  Deno.writeTextFileSync(trap, "{}");
  Deno.writeTextFileSync(
    join(ws, "params.json"),
    JSON.stringify({ dir: outside, count: PROBES, trap }),
  );
  const host = newHost({
    policy: loadPolicy([join(ROOT, "policies/agents.yaml"), trapPolicy], { builtin: true }),
    // Far fewer denials than the probes would kill the agent, were they counted.
    killOnDenials: { count: 20, windowMs: 600_000 },
  });
  try {
    const handle = await host.start({ module: AGENT, workspace: ws, timeoutMs: 120_000 });
    const start = host.trust.score(handle.id);
    const run = await collectRun(host, handle);
    const line = run.stdout.split("\n").find((l) => l.startsWith("FS-MANY "));
    assertEquals(line && JSON.parse(line.slice("FS-MANY ".length)), {
      found: 0,
      trapped: "EACCES",
    }, describe(run));
    assertEquals(run.exit.code, 0, describe(run));
    // Each probe was the broker's: decided and audited as a deny of that path.
    const probes = run.audit.filter((e) =>
      e.path === "broker" && e.action === "fs.read" && e.effect === "deny" &&
      e.resource.startsWith(`${outside}/candidate-`)
    );
    assertEquals(new Set(probes.map((e) => e.resource)).size, PROBES, describe(run));
    const trapped = run.audit.find((e) => e.resource === trap && e.rule === "trap-file");
    assertEquals(trapped?.effect, "deny", describe(run));
    // The probes cost nothing (counted, 200 denials would be -1000: revoked); the trap is a
    // low-severity violation (-15); allowed checks earn a little (+0.1 each).
    const score = host.trust.score(handle.id);
    assertEquals(
      score < start - 10 && score > start - 15 - 1 && score < start,
      true,
      `${start} -> ${score}`,
    );
    // Neither demoted (a ring change) nor killed.
    assertEquals(
      run.audit.some((e) => e.action === "agent.ring" || e.action === "agent.kill"),
      false,
    );
  } finally {
    await host.close();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("only a compatible read refused by no rule with a severity is no violation", () => {
  const ask = (action: string, args: Record<string, unknown>) => ({
    path: "broker" as const,
    action,
    resource: "/etc/x",
    args,
  });
  assertEquals(answeredCompatibly(ask("fs.read", { compatible: true }), undefined), true);
  assertEquals(answeredCompatibly(ask("fs.read", { compatible: true }), "low"), false);
  assertEquals(answeredCompatibly(ask("fs.read", {}), undefined), false);
  assertEquals(answeredCompatibly(ask("fs.write", { compatible: true }), undefined), false);
  assertEquals(answeredCompatibly(ask("import", { compatible: true }), undefined), false);
  assertEquals(answeredCompatibly(ask("env.get", { unset: true }), undefined), true);
});
