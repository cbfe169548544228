/**
 * Starting one agent's process for the host (`AgentHost.start`, a ring-change restart, a plugin):
 * its private files, its identity record at the ring its trust allows, its budgets and own code,
 * its permission broker and SDK gateway, the sandbox refusals, then the spawn of its launch plan
 * (supervisor/launch.ts). The host registers, watches and audits what this returns.
 */
import { dirname, join, resolve } from "node:path";
import type { Signer } from "../../governance/identity/mod.ts";
import { type Budgets, capabilityCeiling, type Ring } from "../../governance/rings/mod.ts";
import { REVOKE_BELOW } from "../../governance/trust/mod.ts";
import { BrokerServer } from "../broker/server.ts";
import { fixesWorkspace } from "../broker/map.ts";
import { Gateway, type GatewayEvent } from "../gateway/gateway.ts";
import type { AgentRef } from "../governor.ts";
import type { AgentHost } from "../host.ts";
import type { PluginChannel } from "../plugins/channel.ts";
import type { AgentCgroup } from "../supervisor/cgroup.ts";
import {
  agentEnv,
  agentHomeDir,
  agentName,
  type AgentPaths,
  agentPaths,
  agentTmpDir,
  importMapJson,
  launchBudgets,
  nodeMode,
  pinsCwd,
  processEnvRefusal,
  SDK_DIR,
  spawnPlan,
} from "../supervisor/launch.ts";
import { agentCgroup, budgetLayers, joinCgroupAsync } from "../supervisor/limits.ts";
import {
  kernelLayers,
  type LayerState,
  missingLayerRefusal,
} from "../supervisor/sandbox/layers.ts";
import { layersInForce } from "../supervisor/sandbox/report.ts";
import { type OwnCode, prepareOwnCode } from "../supervisor/own_code.ts";
import { unconfinedRefusal } from "../supervisor/sandbox/mode.ts";
import { outwardSymlink } from "../supervisor/sandbox/symlinks.ts";
import {
  agentEnvNames,
  canSetHostname,
  RUNTIME_ENV_NAMES,
  spawnAgent,
} from "../supervisor/spawn.ts";
import { installPackage, localPackage, type StoredPackage } from "../supervisor/store.ts";
import { type Egress, egressFor } from "../egress/mod.ts";
import { configNpmImports, pinned, PROJECT_CONFIG } from "../supervisor/bundle.ts";
import { wardenHome } from "../state.ts";
import { sha256Hex } from "../../governance/audit/sha256.ts";
import { diskUsage } from "../supervisor/watchdog.ts";
import { trustCap } from "../trust/reactions.ts";
import type { AgentSpec, HostOptions } from "./types.ts";
import { argsProblem, envProblem } from "./agent_input.ts";
import { startCommand } from "./command_start.ts";

/** What a start needs of the host besides its public services. */
export interface StartContext {
  host: AgentHost;
  opts: HostOptions;
  /** The next agent number (its state directory is `a<n>`). */
  seq: () => number;
  emit: (e: GatewayEvent) => void;
}

/** A spawned agent process and everything the host keeps about it. */
export interface Started {
  ref: AgentRef;
  ring: Ring;
  /** The audit note when trust capped the asked ring ("" when it did not). */
  capNote: string;
  child: Deno.ChildProcess;
  /** Its permission broker (a command agent has none: its no-op close). */
  broker: Pick<BrokerServer, "close">;
  /** Its SDK gateway, or a command agent's MCP gateway. */
  gateway: Pick<Gateway, "close" | "setRate">;
  budgets: Budgets;
  cgroup: AgentCgroup | null;
  paths: AgentPaths;
  own: OwnCode;
  /** The kernel sandbox confines it (false: broker only). */
  confined: boolean;
  /** Each kernel and host layer and what it enforces for this agent (its `agent.start` entry). */
  layers: LayerState[];
}

/** Prepare and spawn one agent process as `signer` (throws one line when it cannot). */
export async function startProcess(
  c: StartContext,
  spec: AgentSpec,
  signer: Signer,
  plugin?: PluginChannel,
): Promise<Started> {
  if (spec.command) return startCommand(c, spec, signer);
  const npmEntry = spec.module.startsWith("npm:");
  const module = npmEntry ? spec.module : resolve(spec.module);
  if (!npmEntry) {
    try {
      if (!Deno.statSync(module).isFile) throw new Error();
    } catch {
      throw new Error(`agent module not found: ${spec.module}`);
    }
  }
  const n = c.seq();
  const name = spec.name ?? agentName(module);
  const envRefused = processEnvRefusal(spec.processEnv) ?? envProblem(spec.env) ??
    argsProblem(spec.args);
  if (envRefused) throw cannotStart(name, envRefused);
  const paths = agentPaths(join(c.host.stateDir, `a${n}`), name, spec.bundle === true);
  Deno.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  // Own code is the module graph (supervisor/own_code.ts). A bundle is made once the agent's
  // identity exists: the bundler's every read is decided as the agent.
  const bundleOut = paths.bundleOut;
  if (bundleOut) Deno.mkdirSync(dirname(bundleOut), { recursive: true });
  // An npm: entry not bundled runs from the package store (installed once, read-only).
  // A local Node program (its package.json, its node_modules) runs in place, not bundled.
  let stored: StoredPackage | undefined;
  if (!npmEntry && !bundleOut) {
    try {
      const protect = [c.host.stateDir, c.opts.storeDir ?? join(wardenHome(), "store")];
      stored = localPackage(module, { protect }) ?? undefined;
    } catch (e) {
      throw cannotStart(name, message(e));
    }
  }
  if (npmEntry && !bundleOut) {
    try {
      const exact = pinned(spec.module, PROJECT_CONFIG);
      if (exact === spec.module && !/^npm:(@[^/@]+\/)?[^/@]+@/.test(exact)) {
        throw new Error(
          `${exact} is not pinned in ${PROJECT_CONFIG}: add it first (deno add ${exact}) or ` +
            `name its version (${exact}@<version>)`,
        );
      }
      stored = await installPackage(exact, {
        dir: c.opts.storeDir ?? join(wardenHome(), "store"),
        deno: c.opts.deno ?? Deno.execPath(),
      });
    } catch (e) {
      throw cannotStart(name, message(e));
    }
  }
  const workspace = resolve(spec.workspace ?? join(paths.dir, "workspace"));
  Deno.mkdirSync(workspace, { recursive: true });
  // A score below "standard" caps the ring whatever was asked (audited with the start).
  const score = c.host.trust.score(signer.did);
  const cap = trustCap(spec.ring ?? 2, score);
  const ring = cap.ring as Ring;
  const id = signer.did;
  const ref: AgentRef = {
    id,
    name,
    ring,
    trust: score,
    labels: spec.labels ?? {},
    workspace: Deno.realPathSync(workspace),
    code: stored
      ? stored.root
      : bundleOut
      ? Deno.realPathSync(dirname(bundleOut))
      : dirname(Deno.realPathSync(module)),
    sdk: Deno.realPathSync(SDK_DIR),
    caps: spec.capabilities
      ? capabilityCeiling(spec.capabilities, `capabilities of ${name}`)
      : undefined,
  };
  if (ref.trust < REVOKE_BELOW) {
    throw cannotStart(name, `trust revoked (score ${Math.round(ref.trust)} < ${REVOKE_BELOW})`);
  }
  let budgets: Budgets;
  try {
    budgets = launchBudgets(c.opts.rings.doc.budgets, ring, spec);
  } catch (e) {
    throw cannotStart(name, (e as Error).message);
  }
  const tmpDir = agentTmpDir(ref.workspace);
  const env = agentEnv(spec, ref.workspace);
  const home = agentHomeDir(ref.workspace);
  const homes = env.HOME === home ? [[home, "home"]] : []; // an operator's HOME is theirs
  for (const [dir, what] of [[tmpDir, "temp"], ...homes]) {
    try {
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw cannotStart(name, `cannot create its ${what} directory ${dir}: ${message(e)}`);
    }
  }
  // A local module's bare npm names resolve as its configuration maps them (installed, not
  // bundled: own_code.ts); a bundle or a package-store agent resolves them on its own.
  const npmNames = npmEntry || bundleOut || stored ? {} : configNpmImports(module);
  Deno.writeTextFileSync(paths.importMap, importMapJson(npmNames));
  const deno = c.opts.deno ?? Deno.execPath();
  let own: OwnCode;
  try {
    own = await prepareOwnCode({
      module,
      bundleOut,
      ref,
      governor: c.host.governor,
      deno,
      sandbox: c.host.sandbox(),
      importMap: paths.importMap,
      dir: paths.dir,
      writesAnywhere: c.opts.rings.doc.rings[ring].write === true,
      stored,
      storeDir: c.opts.storeDir ?? join(wardenHome(), "store"),
    });
  } catch (e) {
    throw cannotStart(name, message(e));
  }

  // The broker needs the pid, known only after spawning: bind it late.
  const proc: { pid?: number } = {};
  const { sdkSocket } = paths;
  const broker = new BrokerServer({
    path: paths.brokerSocket,
    agent: ref,
    governor: c.host.governor,
    pid: () => proc.pid,
    tmp: tmpDir,
    // Under the kernel sandbox at a ring that may not run programs the cwd cannot move.
    cwdPinned: !!c.host.sandbox().path && pinsCwd(c.opts.rings.doc.rings[ring]),
    // Landlock keeps the workspace and its ancestors in place unless a write root covers them.
    cwdFixed: () =>
      !!c.host.sandbox().path &&
      fixesWorkspace(c.opts.rings.doc.rings[ring].write, ref.workspace, [paths.denoDir]),
    // A plugin's bootstrap keeps the runtime's variables (they are refused, not unset).
    envNames: plugin ? new Set([...agentEnvNames(env), ...RUNTIME_ENV_NAMES]) : agentEnvNames(env),
    // Its node:fs answers a refused read like the OS (bootstrap's "node" mode): not a violation.
    compatibleReads: nodeMode(spec, own, !!plugin),
    rate: budgets.brokerRate,
    bootstrap: [
      `read ${sdkSocket}`,
      `write ${sdkSocket}`,
      `net unix:${sdkSocket}`,
      ...(plugin ? [] : [...RUNTIME_ENV_NAMES].map((n) => `env ${n}`)),
    ],
  });
  const gateway = new Gateway({
    path: sdkSocket,
    agent: ref,
    governor: c.host.governor,
    tools: c.host.tools,
    env: spec.env ?? {},
    approvals: c.opts.approvals,
    limits: spec.limits,
    onEvent: (e) => c.emit(e),
    onViolation: (why) => c.host.kill(id, `protocol violation: ${why}`),
    messages: { router: c.host.messages, signer },
    sagas: c.host.sagas,
    memory: c.host.memory,
    plugin,
    toolGuard: c.host.sre,
    environment: spec.environment,
  });
  const ceiling = c.opts.rings.doc.rings[ring];
  paths.denoDir = agentCache(c, id, budgets.diskBytes);
  const sandbox = c.host.sandbox();
  const refuse = (why: string): never => {
    broker.close();
    gateway.close();
    throw cannotStart(name, why);
  };
  const why = unconfinedRefusal(c.opts, sandbox, ring);
  if (why) refuse(why);
  // The seccomp profile and Landlock TCP/scope rules of the ring; a required one missing refuses.
  const kl = sandbox.path
    ? kernelLayers(ring, ceiling, sandbox.abi ?? 1, sandbox.netns ?? true)
    : null;
  const missing = kl && missingLayerRefusal(kl.missing);
  if (missing) refuse(missing);
  if (!sandbox.path) {
    // Without the kernel sandbox, a symlink leading out of the workspace could be swapped
    // into a path between the broker's check and Deno's open: refuse such workspaces.
    const out = outwardSymlink(ref.workspace);
    if (out) {
      refuse(
        `workspace symlink ${out} leads outside the workspace (no kernel sandbox: ${sandbox.why})`,
      );
    }
  }
  const cgroup = agentCgroup(budgets, c.opts.cgroups);
  let child: Deno.ChildProcess;
  let layers: LayerState[] = [];
  let egress: Egress | undefined;
  try {
    // In its own network namespace the agent's one way out is its egress proxy (closed with
    // the gateway); a ring with no network at all gets none.
    egress = await agentEgress(c, ref, paths.dir, kl?.layers, gateway.signal);
    const kernel = sandbox.path
      ? { launcher: sandbox.path, denoReal: Deno.realPathSync(deno), layers: kl?.layers }
      : null;
    // A hostname of its own unless an operator rule could allow the real one (and the host
    // can make a UTS namespace): os.hostname() then answers it, decided and audited.
    const real = c.host.governor.couldAllow(ref, {
      path: "broker",
      action: "sys",
      resource: "hostname",
    });
    if (kernel && !real && canSetHostname()) ref.syntheticHostname = syntheticHostname(name);
    const plan = {
      spec,
      ceiling,
      ref,
      own,
      paths,
      budgets,
      deno,
      plugin: !!plugin,
      kernel,
      egress,
    };
    const planned = spawnPlan(plan);
    child = spawnAgent(planned);
    layers = layersInForce(
      ring,
      sandbox,
      planned.sandbox,
      kl?.unavailable ?? [],
      budgetLayers(cgroup),
    );
    // Before any broker answer, so before any agent code runs; off the host's thread.
    const placed = joinCgroupAsync(cgroup, child.pid);
    broker.holdUntil(placed);
    placed.catch((e) => {
      c.host.kill(id, message(e)).catch(() => {});
    });
  } catch (e) {
    broker.close();
    gateway.close();
    await egress?.close();
    cgroup?.remove();
    throw cannotStart(name, message(e));
  }
  proc.pid = child.pid;
  return {
    ref,
    ring,
    capNote: cap.note,
    child,
    broker,
    gateway,
    budgets,
    cgroup,
    paths,
    own,
    confined: sandbox.path !== null,
    layers,
  };
}

/**
 * The agent's Deno cache: its own, kept per identity (in `$WARDEN_HOME/caches` when identities
 * outlive the host, else in the host's state directory), so a restart reuses transpiled code
 * and V8's code cache instead of paying for them again (about 120 ms a start, measured). Never
 * shared between identities; emptied at start once it holds half the disk budget (the budget
 * counts its growth per run).
 */
function agentCache(c: StartContext, did: string, diskBytes: number): string {
  const root = c.opts.cacheDir ??
    (c.opts.keystore ? join(wardenHome(), "caches") : join(c.host.stateDir, "caches"));
  const dir = join(root, sha256Hex(did).slice(0, 32));
  try {
    if (diskUsage([dir]).bytes > diskBytes / 2) Deno.removeSync(dir, { recursive: true });
  } catch { /* absent */ }
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** `warden-<name>` as a hostname label (a-z, 0-9, "-"; at most 63 characters). */
function syntheticHostname(name: string): string {
  const label = name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  return `warden-${label || "agent"}`.slice(0, 63).replace(/-+$/, "");
}

/** The one-line refusal of an agent start. */
function cannotStart(name: string, why: string): Error {
  return new Error(`cannot start agent ${name}: ${why}`);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The egress proxy of an agent in its own network namespace (its one way out, closed with
 * `signal`), or none for a ring with no network at all: the same for SDK and command agents.
 */
export function agentEgress(
  c: StartContext,
  ref: AgentRef,
  dir: string,
  layers: { netns?: boolean; noInet: boolean } | undefined,
  signal: AbortSignal,
): Promise<Egress | undefined> {
  return egressFor(layers, {
    dir,
    agent: ref,
    governor: c.host.governor,
    host: c.host,
    approvals: c.opts.approvals,
    upstreamCaCerts: c.opts.egressCaCerts,
    signal,
  });
}
