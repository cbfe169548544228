/**
 * Starting a command agent (`AgentSpec.command`, `deno task run --command -- PROGRAM ARGS…`):
 * any executable at a ring, under the kernel layers only — the ring's Landlock trees, seccomp
 * profile (no program started at rings that may not run any, no unix socket of its own),
 * network namespace and TCP rules, its cgroup — with its workspace, budgets (watchdog too),
 * audit and kill switch like any agent. There is no broker (nothing asks Deno's permission
 * checks) and no SDK: its one way to the host's tools is the MCP gateway (command_mcp.ts) whose
 * connection the launcher hands it as `WARDEN_UNIX_FD`.
 */
import { join, resolve } from "node:path";
import type { Signer } from "../../governance/identity/mod.ts";
import type { Budgets, Ring } from "../../governance/rings/mod.ts";
import { REVOKE_BELOW } from "../../governance/trust/mod.ts";
import { ToolRunner } from "../executors/runner.ts";
import type { AgentRef } from "../governor.ts";
import { planCommand, spawnCommand } from "../supervisor/command.ts";
import { agentName, agentPaths, launchBudgets, SDK_DIR } from "../supervisor/launch.ts";
import { agentCgroup, budgetLayers } from "../supervisor/limits.ts";
import { layersInForce } from "../supervisor/sandbox/report.ts";
import { trustCap } from "../trust/reactions.ts";
import { CommandMcp } from "./command_mcp.ts";
import type { Egress } from "../egress/mod.ts";
import { kernelLayers } from "../supervisor/sandbox/layers.ts";
import { agentEgress, type StartContext, type Started } from "./start.ts";
import type { AgentSpec } from "./types.ts";

/** Spawn one command agent as `signer` (throws one line when it cannot). */
export async function startCommand(
  c: StartContext,
  spec: AgentSpec,
  signer: Signer,
): Promise<Started> {
  const argv = spec.command ?? [];
  const name = spec.name ?? agentName(resolve(spec.module));
  const cannot = (why: string) => new Error(`cannot start agent ${name}: ${why}`);
  if (argv.length === 0) throw cannot("no program to run");
  const n = c.seq();
  const paths = agentPaths(join(c.host.stateDir, `a${n}`), name, false);
  Deno.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const workspace = resolve(spec.workspace ?? join(paths.dir, "workspace"));
  Deno.mkdirSync(workspace, { recursive: true });
  const score = c.host.trust.score(signer.did);
  const cap = trustCap(spec.ring ?? 2, score);
  const ring = cap.ring as Ring;
  const ref: AgentRef = {
    id: signer.did,
    name,
    ring,
    trust: score,
    labels: spec.labels ?? {},
    workspace: Deno.realPathSync(workspace),
    code: paths.dir,
    sdk: Deno.realPathSync(SDK_DIR),
  };
  if (ref.trust < REVOKE_BELOW) {
    throw cannot(`trust revoked (score ${Math.round(ref.trust)} < ${REVOKE_BELOW})`);
  }
  let budgets: Budgets;
  try {
    budgets = launchBudgets(c.opts.rings.doc.budgets, ring, spec);
  } catch (e) {
    throw cannot((e as Error).message);
  }
  // Its cache, home and temp: private, always writable, counted in its disk budget.
  paths.denoDir = join(paths.dir, "cache");
  Deno.mkdirSync(paths.denoDir, { recursive: true, mode: 0o700 });
  const mcpPath = join(paths.dir, "m.sock");
  const mcp = new CommandMcp({
    path: mcpPath,
    agent: ref,
    governor: c.host.governor,
    tools: c.host.tools,
    runner: new ToolRunner({
      governor: c.host.governor,
      tools: c.host.tools,
      guard: c.host.sre,
      approvals: () => c.opts.approvals,
    }),
    rate: budgets.brokerRate,
    onViolation: (why) => c.host.kill(ref.id, `protocol violation: ${why}`).catch(() => {}),
  });
  const sandbox = c.host.sandbox();
  const ceiling = c.opts.rings.doc.rings[ring];
  // In its own network namespace its one way out is its egress proxy (a ring with no network
  // gets none), which decides every connection and request as it does for Deno agents.
  const kl = sandbox.path
    ? kernelLayers(ring, ceiling, sandbox.abi ?? 1, sandbox.netns ?? true)
    : null;
  let egress: Egress | undefined;
  try {
    egress = await agentEgress(c, ref, paths.dir, kl?.layers, mcp.signal);
  } catch (e) {
    mcp.close();
    throw cannot(`egress proxy: ${e instanceof Error ? e.message : String(e)}`);
  }
  const cgroup = agentCgroup(budgets, c.opts.cgroups);
  const planned = planCommand({
    argv,
    ring,
    ceiling,
    workspace: ref.workspace,
    cache: paths.denoDir,
    budgets,
    sandbox,
    cgroup,
    env: { ...spec.processEnv, ...spec.env },
    cpuMs: spec.cpuMs,
    mcpSocket: mcpPath,
    egress,
  });
  const fail = async (why: string) => {
    mcp.close();
    await egress?.close();
    cgroup?.remove();
    return cannot(why);
  };
  if (typeof planned === "string") throw await fail(planned);
  const { plan } = planned;
  plan.stdin = spec.stdin ?? "null";
  plan.stdout = plan.stderr = spec.stdio ?? "piped";
  let child: Deno.ChildProcess;
  try {
    child = spawnCommand(plan);
  } catch (e) {
    throw await fail(e instanceof Error ? e.message : String(e));
  }
  const layers = layersInForce(
    ring,
    sandbox,
    plan.sandbox,
    planned.unavailable,
    budgetLayers(cgroup),
  ).map((l) =>
    l.layer === "broker"
      ? {
        layer: "broker",
        state: "off" as const,
        detail: "a command agent: no Deno permission checks and no SDK; the kernel layers " +
          "decide, and the MCP gateway decides each tool call",
      }
      : l
  );
  return {
    ref,
    ring,
    capNote: cap.note,
    child,
    broker: { close: () => {} },
    gateway: mcp,
    budgets,
    cgroup,
    paths,
    own: { module: spec.module, expose: [] },
    confined: true,
    layers,
  };
}
