/**
 * Saying what is in force: the layer report of a started agent (its `agent.start` audit entry)
 * and of an agent about to start (`deno task run --explain-sandbox`), from the launcher's probe,
 * the ring and the spawn plan.
 */
import type { RingCeiling } from "../../../governance/rings/mod.ts";
import { cgroupSupport } from "../cgroup.ts";
import { type SpawnSpec, SYSTEM_READ_ONLY } from "../spawn.ts";
import { deniedSyscalls, type Sandbox } from "./build.ts";
import {
  deniedBy,
  EGRESS_PORT,
  kernelLayers,
  layerLines,
  layerReport,
  type LayerState,
  missingLayerRefusal,
} from "./layers.ts";
import { pinsCwd } from "../launch.ts";
import { type SandboxMode, unconfinedRefusal } from "./mode.ts";

/** The layers of a started agent, for its `agent.start` entry. */
export function layersInForce(
  ring: number,
  sandbox: Sandbox,
  plan: SpawnSpec["sandbox"],
  unavailable: string[],
  budgets: string,
): LayerState[] {
  return layerReport({
    ring,
    abi: sandbox.path ? sandbox.abi ?? 1 : null,
    why: sandbox.why,
    sandbox: plan,
    unavailable,
    table: deniedSyscalls(),
    budgets,
  });
}

/**
 * The explanation `--explain-sandbox` prints for an agent at `ring`: each layer, its rules
 * (path trees by their ceiling names: `${workspace}` and `${code}` become real at start), the
 * refused syscalls, and whether the start would be refused.
 */
export function explainSandbox(
  ring: number,
  ceiling: RingCeiling,
  sandbox: Sandbox,
  agent: { module: string; workspace: string },
  mode: SandboxMode,
): string[] {
  const { module, workspace } = agent;
  const abi = sandbox.path ? sandbox.abi ?? 1 : null;
  const kl = abi === null ? null : kernelLayers(ring, ceiling, abi, sandbox.netns ?? true);
  const named = (l: boolean | string[], always: string[]) =>
    l === true ? ["/"] : [...new Set([...always, ...(l === false ? [] : l)])];
  const deno = (() => {
    try {
      return Deno.realPathSync(Deno.execPath());
    } catch {
      return Deno.execPath();
    }
  })();
  const readOnly = [...SYSTEM_READ_ONLY, deno, ...named(ceiling.read, ["${code}"])];
  const readWrite = named(ceiling.write, ["<its Deno cache>"]);
  const show = (p: string) =>
    p === "${workspace}"
      ? workspace
      : p === "${code}"
      ? `\${code}: each file of ${module}'s module graph, and the SDK`
      : p;
  const plan = kl
    ? {
      readOnly,
      readWrite,
      pinCwd: pinsCwd(ceiling),
      ...kl.layers,
      launcher: "",
      ...(kl.layers.netns && !kl.layers.noInet ? { egressPort: EGRESS_PORT } : {}),
    }
    : undefined;
  const cg = cgroupSupport();
  const budgets = cg.version
    ? `budgets: cgroup ${cg.version} ${
      [cg.memory ? "memory" : "", cg.pids ? "pids" : "", cg.cpu ? "cpu" : ""]
        .filter(Boolean).join("+")
    }, watchdog${cg.cpu ? "" : ", cpu: watchdog"}${cg.why ? ` (${cg.why})` : ""}`
    : `budgets: watchdog (no cgroup: ${cg.why})`;
  const layers = layerReport({
    ring,
    abi,
    why: sandbox.why,
    sandbox: plan,
    unavailable: kl ? [...kl.unavailable, ...kl.missing] : undefined,
    table: deniedSyscalls(),
    budgets,
  });
  const out = [`sandbox for ${module} at ring ${ring} (workspace ${workspace}):`];
  out.push(...layerLines(layers).map((l) => `  ${l}`));
  if (plan) {
    out.push("landlock read-only:");
    out.push(...readOnly.map((p) => `  ${show(p)}`));
    out.push("landlock read-write:");
    out.push(...readWrite.map((p) => `  ${show(p)}`));
    const denied = deniedBy(plan.seccomp, deniedSyscalls());
    if (denied.length) {
      out.push(`seccomp ${plan.seccomp} refuses:`);
      for (let k = 0; k < denied.length; k += 6) {
        out.push(`  ${denied.slice(k, k + 6).map((d) => `${d.name} (${d.errno})`).join(", ")}`);
      }
    }
  }
  const refusal = unconfinedRefusal(mode, sandbox, ring) ??
    (kl ? missingLayerRefusal(kl.missing) : null);
  out.push(refusal ? `start: refused (${refusal})` : "start: allowed");
  return out;
}
