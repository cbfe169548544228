/**
 * AgentHost: runs each agent in its own sandboxed Deno process at a ring, and wires its
 * permission broker, SDK gateway, watchdog and kill switch to one governor (ceiling -> policy
 * -> audit).
 */
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { CompiledPolicy } from "../governance/mod.ts";
import { type Signer, signerFromKeyPair } from "../governance/identity/mod.ts";
import { MessageRouter } from "./messages/router.ts";
import { servePeer } from "./server/peer.ts";
import { REVOKE_BELOW, ringAtStart, ringFor, tierOf } from "../governance/trust/mod.ts";
import { TrustService } from "./trust/service.ts";
import { SagaOrchestrator } from "./saga/orchestrator.ts";
import { FileSagaJournal, journalPath, type SagaJournal } from "./saga/journal.ts";
import { registryExecutor } from "./saga/tools.ts";
import { type SreOptions, SreService } from "./sre/service.ts";
import { PolicyDelivery } from "./policy/delivery.ts";
import type { GovernedEnv } from "./rl/env.ts";
import type { SloAction, SloStatus } from "../governance/sre/mod.ts";
import type { AuditEntry } from "../governance/audit/mod.ts";
import {
  agentBudgets,
  type BudgetOverrides,
  type Budgets,
  type Capabilities,
  capabilityCeiling,
  type Ring,
  ringBudgets,
  type RingCeiling,
  type RingCeilings,
  ringFlags,
} from "../governance/rings/mod.ts";
import type { z } from "zod";
import { PluginChannel } from "./plugins/channel.ts";
import { AuditLog } from "./audit/log.ts";
import type { Keystore } from "./identity/keystore.ts";
import { BrokerServer } from "./broker/server.ts";
import { ToolRegistry } from "./executors/tools.ts";
import {
  type ApprovalHandler,
  Gateway,
  type GatewayEvent,
  type GatewayLimits,
} from "./gateway/gateway.ts";
import { type AgentRef, type Ask, Governor, HOST_AGENT, type Ruling } from "./governor.ts";
import { landlockSandbox } from "./supervisor/sandbox/build.ts";
import { UNCONFINED, unconfinedRefusal, unconfinedWarning } from "./supervisor/sandbox/mode.ts";
import { killGroup, processEnvProblem, spawnAgent, SYSTEM_READ_ONLY } from "./supervisor/spawn.ts";
import { type OwnCode, prepareOwnCode } from "./supervisor/own_code.ts";
import { Watchdog } from "./supervisor/watchdog.ts";
import { type AgentCgroup, cgroupsRemoved } from "./supervisor/cgroup.ts";
import {
  agentCgroup,
  budgetLayers,
  joinCgroup,
  kernelKill,
  watchedBudgets,
} from "./supervisor/limits.ts";

const SDK_DIR = new URL("../sdk/", import.meta.url).pathname.replace(/\/$/, "");
const BOOTSTRAP = new URL("./supervisor/bootstrap.ts", import.meta.url).pathname;
const BOOTSTRAP_DIR = dirname(BOOTSTRAP);
const PLUGIN_BOOTSTRAP = new URL("./supervisor/plugin_bootstrap.ts", import.meta.url).pathname;

/** How to run one agent. */
export interface AgentSpec {
  /** Path of the agent's entry module. */
  module: string;
  name?: string;
  ring?: Ring;
  /** Working directory and the only place it may read and write (created when missing). */
  workspace?: string;
  /** Values the agent may read with `env.get` (never the host's environment). */
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** Wall-clock limit. */
  timeoutMs?: number;
  /** CPU-time budget (host watchdog; RLIMIT_CPU backs it up). */
  cpuMs?: number;
  /** Resident memory budget (the same as `budgets.memoryBytes`, which wins). */
  memoryBytes?: number;
  /**
   * Overrides of the ring's resource budgets (`policies/rings.yaml`): memory, disk, pids,
   * broker checks per second, denial flood. Finite positive values only: never unbounded.
   */
  budgets?: BudgetOverrides;
  /** V8 heap cap in MiB. */
  heapMb?: number;
  /** Where the agent's stdout and stderr go (default: piped to the handle). */
  stdio?: "piped" | "inherit" | "null";
  /** Declared capabilities: a second ceiling under the ring's (plugins declare theirs). */
  capabilities?: Capabilities;
  /** A governed RL environment the agent trains in (`rl.reset` / `rl.step` in the SDK). */
  environment?: GovernedEnv<unknown>;
  limits?: Partial<GatewayLimits>;
  /**
   * Bundle the module graph first (`deno bundle` with the nearest deno.json and its lockfile),
   * for agents that import npm packages: agent processes fetch and resolve nothing themselves.
   * `module` may then also be an `npm:` specifier.
   */
  bundle?: boolean;
  /** Arguments the agent sees in `Deno.args` / `process.argv`. */
  args?: string[];
  /** The agent's stdin: "piped" gives the handle a writable stdin (MCP servers). */
  stdin?: "piped" | "null";
  /**
   * Process environment for agents that read variables the Node way (MCP servers). Each read
   * is still an `env` check decided by the policy; loader and runtime variables are refused.
   */
  processEnv?: Record<string, string>;
}

/** Something that happened in the host. */
export type HostEvent =
  | GatewayEvent
  | { type: "start"; agent: string; id: string; pid: number; ring: number }
  | { type: "restart"; agent: string; id: string; pid: number; ring: number; cause: RingCause }
  | { type: "alert"; slo: string; action: string; reason: string }
  | { type: "kill"; agent: string; reason: string; latencyMs?: number }
  | { type: "exit"; agent: string; code: number; signal: string | null; killed: string | null };

/** Who changed an agent's ring (`AgentHost.setRing`). */
export type RingCause = "trust" | "slo" | "operator";

/** How an agent ended. */
export interface AgentExit {
  code: number;
  signal: string | null;
  /** The kill reason when the host killed it. */
  killed: string | null;
}

export interface HostOptions {
  policy: CompiledPolicy;
  rings: RingCeilings;
  /** JSONL audit file; in memory only when omitted. */
  auditPath?: string;
  /** Host key: signs the audit log's checkpoints (no checkpoints without it). */
  signer?: Signer;
  /**
   * Where agents' Ed25519 keys live (one per agent name, created on first start, so an agent
   * keeps its did:key across runs). Without it each agent gets a fresh in-memory key. One live
   * agent per identity: a second start under a name whose key is in use is refused.
   */
  keystore?: Keystore;
  audit?: AuditLog;
  tools?: ToolRegistry;
  approvals?: ApprovalHandler;
  /**
   * Kill an agent after this many denials within the window, for every agent. Without it
   * (or null) each agent's ring budget `denialFlood` applies: there is always a flood limit.
   */
  killOnDenials?: { count: number; windowMs: number } | null;
  /** Agent cgroups for the memory and pids budgets: "auto" (default) when the host can, "off". */
  cgroups?: "auto" | "off";
  /** Directory for sockets, caches and default workspaces (a temp dir by default). */
  stateDir?: string;
  /**
   * Trust scores: events from decisions and kills move them; tiers demote rings. Every host
   * keeps them: in memory (a fresh `TrustService`) unless one is given.
   */
  trust?: TrustService;
  /** Where sagas are journaled (a file journal in the state directory by default). */
  sagaJournal?: SagaJournal;
  /** SLOs, circuit breakers and chaos. */
  sre?: SreOptions;
  /** Peer hosts (base URLs of their peer endpoints) for messages to agents not on this host. */
  peers?: string[];
  /** Deno executable for agents (this one by default). */
  deno?: string;
  /**
   * Kernel confinement under the broker (Landlock filesystem rules and a seccomp filter that
   * pins the working directory): "require" (the default) refuses to start agents without it.
   * "auto" is the old name of the default and means "require" (it no longer falls back).
   * "off" is the explicit, unsafe opt-out: agents run on the broker alone, the host warns,
   * every `agent.start` audit entry says so, and rings 2 and 3 are refused unless
   * `unsafeUnconfinedRings` is also set.
   */
  sandbox?: "auto" | "require" | "off";
  /** With `sandbox: "off"`, also run ring 2 and 3 agents unconfined (a second opt-out). */
  unsafeUnconfinedRings?: boolean;
  onEvent?: (e: HostEvent) => void;
}

/** A running agent. */
export class AgentHandle {
  /** Resolves when the process has exited and the host has cleaned up. */
  readonly exited: Promise<AgentExit>;
  killReason: string | null = null;
  /** When the host restarted this agent (a ring change), the handle of the new process. */
  replacedBy: AgentHandle | null = null;
  /** Resolves after exit: the restarted agent's handle, or null when it was not restarted. */
  readonly next: Promise<AgentHandle | null>;
  #resolveNext!: (h: AgentHandle | null) => void;
  #resolveExit!: (e: AgentExit) => void;

  constructor(
    readonly ref: AgentRef,
    readonly process: Deno.ChildProcess,
    readonly host: AgentHost,
  ) {
    this.exited = new Promise((r) => (this.#resolveExit = r));
    this.next = new Promise((r) => (this.#resolveNext = r));
  }

  get id(): string {
    return this.ref.id;
  }
  get name(): string {
    return this.ref.name;
  }
  get pid(): number {
    return this.process.pid;
  }
  /** SHA-256 digest of the agent's own code, its module graph (see supervisor/graph.ts). */
  get codeDigest(): string | undefined {
    return this.ref.codeDigest;
  }

  /** Kill the agent (SIGKILL of its process group); resolves when it is gone. */
  kill(reason: string): Promise<AgentExit> {
    return this.host.kill(this.id, reason);
  }

  /** @internal */
  _exit(e: AgentExit, restarting: boolean): void {
    this.#resolveExit(e);
    if (!restarting) this.#resolveNext(null);
  }

  /** @internal */
  _next(h: AgentHandle | null): void {
    this.replacedBy = h;
    this.#resolveNext(h);
  }
}

interface Running {
  handle: AgentHandle;
  spec: AgentSpec;
  signer: Signer;
  /** The ring the operator assigned (trust never promotes above it, nor into 0/1). */
  assigned: number;
  broker: BrokerServer;
  gateway: Gateway;
  unwatch: () => void;
  timer: ReturnType<typeof setTimeout> | null;
  denials: number[];
  budgets: Budgets;
  cgroup: AgentCgroup | null;
  killedAt: number | null;
  /** Killed to be restarted at another ring (`setRing`): its identity stays claimed. */
  restarting: boolean;
}

export class AgentHost {
  readonly governor: Governor;
  readonly audit: AuditLog;
  /** Signed agent-to-agent messages (local mailboxes and peer hosts). */
  readonly messages: MessageRouter;
  /** Trust scores (in memory unless the options gave a persistent service). */
  readonly trust: TrustService;
  /** Saga orchestration over a durable journal (`<stateDir>/sagas.jsonl` by default). */
  readonly sagas: SagaOrchestrator;
  /** SLOs, error budgets, alerts, circuit breakers and chaos. */
  readonly sre: SreService;
  /** Progressive policy delivery: hot reload, shadow, canary, rollback. */
  readonly delivery: PolicyDelivery;
  readonly tools: ToolRegistry;
  readonly stateDir: string;
  #opts: HostOptions;
  readonly #agents = new Map<string, Running>();
  /** Identities (dids) held by a live, starting or restarting agent, with the agent's name. */
  readonly #identities = new Map<string, string>();
  /** Keystore key names being loaded (a second start under the same name is refused). */
  readonly #loadingKeys = new Set<string>();
  readonly #watchdog = new Watchdog();
  #seq = 0;
  #closed = false;
  #peerServers: { shutdown: () => Promise<void> }[] = [];

  constructor(opts: HostOptions) {
    this.#opts = opts;
    this.audit = opts.audit ?? new AuditLog(opts.auditPath, { signer: opts.signer });
    this.governor = new Governor(opts.policy, opts.rings, this.audit);
    this.messages = new MessageRouter(this.governor, { peers: opts.peers });
    this.trust = opts.trust ?? new TrustService();
    this.audit.subscribe((e) => queueMicrotask(() => this.#trustEvent(e)));
    this.governor.onDecided((agent, ruling, ask) =>
      queueMicrotask(() => this.#decided(agent.id, ask, ruling))
    );
    this.tools = opts.tools ?? new ToolRegistry();
    const warning = unconfinedWarning(opts);
    if (warning) console.error(warning);
    this.stateDir = opts.stateDir ?? Deno.makeTempDirSync({ prefix: "warden-" });
    Deno.mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    this.delivery = new PolicyDelivery(this.governor);
    this.sre = new SreService(
      opts.sre ?? {},
      (slo, action, scope) => this.#sreAction(slo, action, scope),
    );
    this.audit.subscribe((e) => this.sre.observe(e));
    this.sagas = new SagaOrchestrator({
      journal: opts.sagaJournal ?? new FileSagaJournal(journalPath(this.stateDir)),
      governor: this.governor,
      execute: registryExecutor(this.tools),
    });
    this.governor.onDeny((agent, _ruling, ask) => {
      const r = this.#agents.get(agent.id);
      if (!r || r.killedAt !== null) return;
      // The host's rule (both paths) when given, else the agent's denial-flood budget, which
      // counts broker denials: the path with no rate limit of its own (the SDK answers "busy").
      if (!opts.killOnDenials && ask.path !== "broker") return;
      const kod = opts.killOnDenials ?? r.budgets.denialFlood;
      const now = performance.now();
      r.denials.push(now);
      while (r.denials.length > 0 && r.denials[0] < now - kod.windowMs) r.denials.shift();
      if (r.denials.length >= kod.count) {
        this.kill(
          agent.id,
          opts.killOnDenials
            ? `policy: ${kod.count} denials within ${kod.windowMs} ms`
            : `denial flood: ${kod.count} denials within ${kod.windowMs} ms (budget)`,
        );
      }
    });
  }

  /** Route `require_approval` decisions of agents started from now on (an approval queue). */
  setApprovalHandler(h: ApprovalHandler | undefined): void {
    this.#opts.approvals = h;
  }

  /** The kernel sandbox agents run in (path null: broker only, with the reason). */
  sandbox(): { path: string | null; why: string } {
    if (this.#opts.sandbox === "off") return { path: null, why: UNCONFINED };
    return landlockSandbox();
  }

  /** Running agents. */
  agents(): AgentHandle[] {
    return [...this.#agents.values()].map((r) => r.handle);
  }

  get(id: string): AgentHandle | undefined {
    return this.#agents.get(id)?.handle;
  }

  #emit(e: HostEvent): void {
    try {
      this.#opts.onEvent?.(e);
    } catch { /* an observer must not break the host */ }
  }

  /** Start an agent. */
  async start(spec: AgentSpec): Promise<AgentHandle> {
    return await this.#claimed(spec, (signer) => this.#start(spec, signer, spec.ring ?? 2));
  }

  /**
   * Claim the identity an agent starts under, run `launch`, and give the claim back when the
   * start fails. With a keystore an identity is its name's key: one live agent per name, and a
   * second start under a name in use is refused (the first stays listed and killable).
   */
  async #claimed(
    spec: AgentSpec,
    launch: (signer: Signer) => Promise<AgentHandle>,
  ): Promise<AgentHandle> {
    if (this.#closed) throw new Error("the host is closed");
    const npm = spec.bundle === true && spec.module.startsWith("npm:");
    const name = spec.name ?? agentName(npm ? spec.module : resolve(spec.module));
    const inUse = `(one live agent per identity: pick another name)`;
    let signer: Signer;
    const ks = this.#opts.keystore;
    if (ks) {
      const key = `agent-${name.replace(/[^A-Za-z0-9._-]/g, "_")}`;
      if (this.#loadingKeys.has(key)) {
        throw new Error(`cannot start agent ${name}: its identity is being claimed ${inUse}`);
      }
      this.#loadingKeys.add(key);
      try {
        signer = await ks.signer(key);
      } finally {
        this.#loadingKeys.delete(key);
      }
    } else signer = await newAgentSigner();
    const holder = this.#identities.get(signer.did);
    if (holder !== undefined) {
      throw new Error(
        `cannot start agent ${name}: agent ${holder} is already running as ${signer.did} ${inUse}`,
      );
    }
    this.#identities.set(signer.did, name);
    try {
      return await launch(signer);
    } catch (e) {
      this.#identities.delete(signer.did);
      throw e;
    }
  }

  async #start(
    spec: AgentSpec,
    signer: Signer,
    assigned: number,
    plugin?: PluginChannel,
  ): Promise<AgentHandle> {
    if (this.#closed) throw new Error("the host is closed");
    const npmEntry = spec.bundle === true && spec.module.startsWith("npm:");
    let module = npmEntry ? spec.module : resolve(spec.module);
    if (!npmEntry) {
      try {
        if (!Deno.statSync(module).isFile) throw new Error();
      } catch {
        throw new Error(`agent module not found: ${spec.module}`);
      }
    }
    const n = ++this.#seq;
    const name = spec.name ?? agentName(module);
    for (const [k, v] of Object.entries(spec.processEnv ?? {})) {
      const why = processEnvProblem(k, v);
      if (why) throw new Error(`cannot start agent ${name}: environment: ${why}`);
    }
    const dir = join(this.stateDir, `a${n}`);
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Own code is the module graph (supervisor/own_code.ts). A bundle is made once the agent's
    // identity exists: the bundler's every read is decided as the agent.
    const bundleOut = spec.bundle ? join(dir, "code", `${name}.bundle.js`) : undefined;
    if (bundleOut) Deno.mkdirSync(dirname(bundleOut), { recursive: true });
    const workspace = resolve(spec.workspace ?? join(dir, "workspace"));
    Deno.mkdirSync(workspace, { recursive: true });
    // A score below "standard" caps the ring whatever was asked (audited with the start).
    const score = this.trust.score(signer.did);
    const ring = ringAtStart(spec.ring ?? 2, score) as Ring;
    const capped = ring !== (spec.ring ?? 2)
      ? `; asked ring ${spec.ring ?? 2}, trust ${Math.round(score)} (${
        tierOf(score)
      }) caps it at ${ring}`
      : "";
    const id = signer.did;
    const ref: AgentRef = {
      id,
      name,
      ring,
      trust: score,
      labels: spec.labels ?? {},
      workspace: Deno.realPathSync(workspace),
      code: bundleOut ? Deno.realPathSync(dirname(bundleOut)) : dirname(Deno.realPathSync(module)),
      sdk: Deno.realPathSync(SDK_DIR),
      caps: spec.capabilities
        ? capabilityCeiling(spec.capabilities, `capabilities of ${name}`)
        : undefined,
    };
    if (ref.trust < REVOKE_BELOW) {
      throw new Error(
        `cannot start agent ${name}: trust revoked (score ${
          Math.round(ref.trust)
        } < ${REVOKE_BELOW})`,
      );
    }
    let budgets: Budgets;
    try {
      budgets = agentBudgets(ringBudgets(this.#opts.rings.doc.budgets, ring), {
        ...(spec.memoryBytes !== undefined ? { memoryBytes: spec.memoryBytes } : {}),
        ...spec.budgets,
      });
    } catch (e) {
      throw new Error(`cannot start agent ${name}: ${(e as Error).message}`);
    }
    // Deno's `<TMP>` (makeTempDir/makeTempFile without `dir`) is this directory, decided as such.
    const tmpDir = join(ref.workspace, ".warden-tmp");
    try {
      Deno.mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new Error(
        `cannot start agent ${name}: cannot create its temp directory ${tmpDir}: ${
          e instanceof Error ? e.message : e
        }`,
      );
    }
    const brokerSocket = join(dir, "b.sock");
    const sdkSocket = join(dir, "s.sock");
    const importMap = join(dir, "import_map.json");
    Deno.writeTextFileSync(
      importMap,
      JSON.stringify({ imports: { "@warden/sdk": pathToFileURL(join(SDK_DIR, "mod.ts")).href } }),
    );
    let own: OwnCode;
    try {
      own = await prepareOwnCode({
        module,
        bundleOut,
        ref,
        governor: this.governor,
        deno: this.#opts.deno ?? Deno.execPath(),
        sandbox: this.sandbox(),
        importMap,
        dir,
        writesAnywhere: this.#opts.rings.doc.rings[ring].write === true,
      });
    } catch (e) {
      throw new Error(`cannot start agent ${name}: ${e instanceof Error ? e.message : e}`);
    }
    module = own.module;

    // The broker needs the pid, known only after spawning: bind it late.
    const proc: { pid?: number } = {};
    const broker = new BrokerServer({
      path: brokerSocket,
      agent: ref,
      governor: this.governor,
      pid: () => proc.pid,
      tmp: tmpDir,
      rate: budgets.brokerRate,
      bootstrap: [`read ${sdkSocket}`, `write ${sdkSocket}`, `net unix:${sdkSocket}`],
    });
    const gateway = new Gateway({
      path: sdkSocket,
      agent: ref,
      governor: this.governor,
      tools: this.tools,
      env: spec.env ?? {},
      approvals: this.#opts.approvals,
      limits: spec.limits,
      onEvent: (e) => this.#emit(e),
      onViolation: (why) => this.kill(id, `protocol violation: ${why}`),
      messages: { router: this.messages, signer },
      sagas: this.sagas,
      plugin,
      toolGuard: this.sre,
      environment: spec.environment,
    });
    const ceiling = this.#opts.rings.doc.rings[ring];
    const deno = this.#opts.deno ?? Deno.execPath();
    const denoDir = join(dir, "deno_dir");
    Deno.mkdirSync(denoDir, { recursive: true });
    const sandbox = this.sandbox();
    const refuse = (why: string): never => {
      broker.close();
      gateway.close();
      throw new Error(`cannot start agent ${name}: ${why}`);
    };
    const why = unconfinedRefusal(this.#opts, sandbox, ring);
    if (why) refuse(why);
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
    const cgroup = agentCgroup(budgets, this.#opts.cgroups);
    let child: Deno.ChildProcess;
    try {
      child = spawnAgent({
        deno,
        bootstrap: plugin ? PLUGIN_BOOTSTRAP : BOOTSTRAP,
        agentUrl: pathToFileURL(module).href,
        sdkSocket,
        brokerSocket,
        workspace: ref.workspace,
        denoDir,
        importMap,
        flags: ringFlags(ceiling, { workspace: ref.workspace, code: [...own.expose, ref.sdk] }),
        heapMb: spec.heapMb ?? 256,
        cpuSeconds: Math.max(1, Math.ceil((spec.cpuMs ?? 600_000) / 1000) + 1),
        fileSizeBytes: budgets.diskBytes,
        stdout: spec.stdio ?? "piped",
        stderr: spec.stdio ?? "piped",
        stdin: spec.stdin,
        args: spec.args,
        nodeArgv: !plugin && (spec.bundle === true || (spec.args?.length ?? 0) > 0),
        env: { ...spec.processEnv, TMPDIR: tmpDir },
        sandbox: sandbox.path
          ? {
            launcher: sandbox.path,
            // Spawning a child sets its cwd with chdir(2): rings that may run programs keep
            // chdir (a child never asks the broker; the kernel rules bound it either way).
            pinCwd: ceiling.run === false ||
              (Array.isArray(ceiling.run) && ceiling.run.length === 0),
            ...kernelRoots(ceiling, ref, denoDir, own),
            readOnly: [
              ...SYSTEM_READ_ONLY,
              Deno.realPathSync(deno),
              BOOTSTRAP_DIR,
              importMap,
              ...kernelRoots(ceiling, ref, denoDir, own).readOnly,
            ],
          }
          : undefined,
      });
      joinCgroup(cgroup, child.pid); // before any broker answer: before any agent code runs
    } catch (e) {
      broker.close();
      gateway.close();
      cgroup?.remove();
      throw new Error(`cannot start agent ${name}: ${e instanceof Error ? e.message : e}`);
    }
    proc.pid = child.pid;
    const handle = new AgentHandle(ref, child, this);
    const running: Running = {
      handle,
      spec,
      signer,
      assigned,
      broker,
      gateway,
      unwatch: () => {},
      timer: null,
      denials: [],
      budgets,
      cgroup,
      killedAt: null,
      restarting: false,
    };
    this.#agents.set(id, running);
    // A start (or a ring-change restart) that finished while the host closed does not outlive it.
    if (this.#closed) queueMicrotask(() => this.kill(id, "host shutting down").catch(() => {}));
    this.messages.register(ref);
    running.unwatch = this.#watchdog.watch({
      pid: child.pid,
      cpuMs: spec.cpuMs ?? null,
      ...watchedBudgets(budgets, cgroup, [ref.workspace, denoDir]),
      onBreach: (why) => this.kill(id, why),
    });
    if (spec.timeoutMs !== undefined) {
      running.timer = setTimeout(
        () => this.kill(id, `timeout: ${spec.timeoutMs} ms`),
        spec.timeoutMs,
      );
    }
    this.governor.record(ref, { path: "host", action: "agent.start", resource: module }, {
      effect: "allow",
      rule: null,
      reason: `started pid ${child.pid} at ring ${ring}${capped}${
        sandbox.path ? "" : `; ${UNCONFINED}`
      }`,
    }, {
      sandbox: sandbox.path ? "kernel" : "off",
      limits: budgetLayers(cgroup),
      codeDigest: ref.codeDigest,
      codeModules: ref.codeFiles?.size,
    });
    this.#emit({ type: "start", agent: name, id, pid: child.pid, ring });
    child.status.then((s) => this.#exited(running, s));
    return handle;
  }

  #exited(r: Running, s: Deno.CommandStatus): void {
    const { handle } = r;
    r.unwatch();
    if (r.timer !== null) clearTimeout(r.timer);
    r.gateway.close();
    r.broker.close();
    this.#agents.delete(handle.id);
    if (!r.restarting) this.#identities.delete(handle.id);
    this.messages.unregister(handle.id);
    // The kernel enforcing a budget (cgroup OOM kill, RLIMIT_FSIZE) is a kill, named by layer.
    const kernel = handle.killReason ? null : kernelKill(r.cgroup, s, r.budgets);
    if (kernel) {
      handle.killReason = kernel;
      this.governor.record(handle.ref, {
        path: "host",
        action: "agent.kill",
        resource: String(handle.pid),
      }, { effect: "deny", rule: null, reason: `${kernel} (the kernel stopped the agent)` });
      this.#emit({ type: "kill", agent: handle.name, reason: kernel });
    }
    r.cgroup?.remove();
    const code = s.signal === "SIGKILL" ? 137 : s.code;
    const exit: AgentExit = { code, signal: s.signal, killed: handle.killReason };
    const oom = s.code === 133 || s.signal === "SIGTRAP";
    this.governor.record(handle.ref, {
      path: "host",
      action: "agent.exit",
      resource: String(handle.pid),
    }, {
      effect: "allow",
      rule: null,
      reason: handle.killReason
        ? `killed: ${handle.killReason}`
        : oom
        ? `exited: V8 heap limit reached (code ${s.code})`
        : `exited with code ${code}${s.signal ? ` (${s.signal})` : ""}`,
    });
    this.#emit({
      type: "exit",
      agent: handle.name,
      code,
      signal: s.signal,
      killed: handle.killReason,
    });
    handle._exit(exit, r.restarting);
  }

  /**
   * The kill switch: SIGKILL the agent's process group, cancel its in-flight SDK requests,
   * refuse its later requests, and audit the reason. Works on an agent spinning in a busy loop.
   */
  async kill(id: string, reason: string): Promise<AgentExit> {
    const r = this.#agents.get(id);
    if (!r) throw new Error(`unknown agent ${id}`);
    if (r.killedAt === null) {
      r.killedAt = performance.now();
      r.handle.killReason = reason;
      killGroup(r.handle.pid);
      r.cgroup?.killAll(); // descendants that left the process group too
      r.gateway.close();
      r.broker.close();
      this.sagas.abortAgent(id, `agent killed: ${reason}`);
      this.governor.record(r.handle.ref, {
        path: "host",
        action: "agent.kill",
        resource: String(r.handle.pid),
      }, {
        effect: "deny",
        rule: null,
        reason: `kill switch: ${reason}`,
      });
      const t0 = r.killedAt;
      r.handle.exited.then(() => {
        this.#emit({
          type: "kill",
          agent: r.handle.name,
          reason,
          latencyMs: performance.now() - t0,
        });
      });
    }
    return await r.handle.exited;
  }

  /** Turn an audited fact into a trust event; demote, restart or revoke as the score says. */
  #trustEvent(e: AuditEntry): void {
    const r = this.#agents.get(e.agent.id);
    if (!r) return;
    let event: Record<string, unknown> | null = null;
    const at = Date.parse(e.ts);
    // A kill counts against the agent, unless the host killed it to restart it at another ring
    // or because the host itself is shutting down.
    if (e.path === "host" && e.action === "agent.kill" && !r.restarting && !this.#closed) {
      event = { type: "killed", at };
    } else if (
      e.path === "host" && e.action === "saga.end" &&
      (e.saga as { event?: string } | undefined)?.event === "completed"
    ) {
      event = { type: "saga_completed", at };
    }
    if (!event) return;
    this.#scoreChanged(r, this.trust.record(r.handle.id, event));
  }

  /**
   * Turn a decision (ring ceiling, then policy) on the agent's broker or SDK path into a trust
   * event. MCP-path decisions are the client's calls of a governed server's tools, not the
   * server's own choices: they do not move the server's trust (its broker checks do).
   * Operational refusals (rate limits, open circuits) are records, not decisions: no event.
   * Nor are the steps of the agent's governed RL environment (`rl.step`): a denied step never
   * happens, and the environment's reward guards judge it.
   */
  #decided(id: string, ask: Ask, d: Ruling): void {
    const r = this.#agents.get(id);
    if (!r || (ask.path !== "broker" && ask.path !== "sdk")) return;
    if (r.spec.environment && ask.context?.episode !== undefined) return;
    const at = Date.now();
    let event: Record<string, unknown>;
    if (d.effect === "allow") event = { type: "allowed", at };
    else if (d.effect === "deny") {
      const severity = d.rule
        ? this.governor.policy.rules.find((x) => x.id === d.rule)?.severity
        : undefined;
      event = severity ? { type: "violation", severity, at } : { type: "denied", at };
    } else return;
    this.#scoreChanged(r, this.trust.record(r.handle.id, event));
  }

  /** Follow a score change: revoke below the threshold, or move the ring as the tier says. */
  #scoreChanged(r: Running, { before, after }: { before: number; after: number }): void {
    const ref = r.handle.ref;
    ref.trust = after;
    if (r.killedAt !== null) return;
    if (after < REVOKE_BELOW) {
      this.kill(r.handle.id, `trust revoked: score ${Math.round(after)} < ${REVOKE_BELOW}`);
      return;
    }
    const ring = ringFor(ref.ring, r.assigned, before, after);
    if (ring === ref.ring) return;
    this.setRing(
      r.handle.id,
      ring as Ring,
      "trust",
      `trust ${Math.round(before)} -> ${Math.round(after)}`,
    ).catch(() => {/* reported by #restart */});
  }

  /**
   * The one way to change a running agent's ring, for every caller (an operator through the API,
   * a trust tier change, an SLO demotion): audit it (`agent.ring`, with its cause), apply it to
   * the agent's next decision at once, and, when the ring's ceiling differs, restart the process
   * under the new ring's Deno flags and kernel rules (same identity, workspace and spec).
   * An operator's ring becomes the agent's assigned ring; a score below "standard" still caps it
   * (probationary and untrusted agents run at ring 3). Resolves with the agent's live handle.
   */
  async setRing(id: string, ring: Ring, cause: RingCause, detail = ""): Promise<AgentHandle> {
    const r = this.#agents.get(id);
    if (!r) throw new Error(`unknown agent ${id}`);
    if (r.killedAt !== null) throw new Error(`agent ${r.handle.name} is stopping or restarting`);
    const ref = r.handle.ref;
    const from = ref.ring;
    let to: number = ring;
    let note = detail ? ` (${detail})` : "";
    if (cause === "operator") {
      r.assigned = ring;
      to = ringAtStart(ring, ref.trust);
      if (to !== ring) {
        note += `; asked ring ${ring}, trust ${Math.round(ref.trust)} (${
          tierOf(ref.trust)
        }) caps it at ${to}`;
      }
    }
    if (to === from) return r.handle;
    ref.ring = to; // the next decision already uses the new ceiling
    this.governor.record(ref, { path: "host", action: "agent.ring", resource: String(to) }, {
      effect: to > from ? "deny" : "allow",
      rule: null,
      reason: `${cause}: ring ${from} -> ${to}${note}`,
    });
    const rings = this.#opts.rings.doc.rings;
    if (JSON.stringify(rings[from as Ring]) === JSON.stringify(rings[to as Ring])) return r.handle;
    return await this.#restart(r, to, cause);
  }

  /** Restart an agent's process at another ring (same identity, workspace and spec). */
  async #restart(r: Running, ring: number, cause: RingCause): Promise<AgentHandle> {
    const { spec, signer, assigned } = r;
    const name = r.handle.name;
    r.restarting = true;
    await this.kill(r.handle.id, `ring change to ${ring} (${cause}): restarting under its ceiling`);
    let next: AgentHandle;
    try {
      if (this.#closed) throw new Error("the host is closed");
      next = await this.#start(
        { ...spec, ring: ring as Ring, workspace: r.handle.ref.workspace },
        signer,
        assigned,
      );
    } catch (e) {
      this.#identities.delete(signer.did);
      r.handle._next(null);
      const why = `restart failed: ${(e as Error).message}`;
      if (!this.#closed) this.#emit({ type: "kill", agent: name, reason: why });
      throw new Error(`agent ${name}: ${why}`);
    }
    r.handle._next(next);
    this.#emit({ type: "restart", agent: next.name, id: next.id, pid: next.pid, ring, cause });
    return next;
  }

  /** Carry out an SLO's action on the agents in its scope (all agents for host SLOs). */
  #sreAction(slo: SloStatus, action: SloAction, scope: { agent?: string; tool?: string }): void {
    const targets = [...this.#agents.values()].filter((r) =>
      r.killedAt === null && (!scope.agent || r.handle.name === scope.agent)
    );
    const why = `SLO ${slo.slo} breached (budget ${Math.round(100 * slo.budget.remaining)}% left)`;
    const at = Date.now();
    for (const r of targets) {
      this.#scoreChanged(r, this.trust.record(r.handle.id, { type: "slo_breach", at }));
    }
    this.delivery.sloBreached(slo.slo);
    this.governor.record(HOST_AGENT, {
      path: "host",
      action: `sre.${action.type}`,
      resource: slo.slo,
    }, {
      effect: "deny",
      rule: null,
      reason: `${why}: ${action.type}${
        targets.length ? ` (${targets.map((r) => r.handle.name).join(", ")})` : ""
      }`,
    });
    this.#emit({ type: "alert", slo: slo.slo, action: action.type, reason: why });
    switch (action.type) {
      case "throttle":
        for (const r of targets) r.gateway.setRate(action.rate);
        break;
      case "kill":
        for (const r of targets) this.kill(r.handle.id, why);
        break;
      case "demote":
        for (const r of targets) {
          if (r.killedAt !== null || r.handle.ref.ring >= 3) continue;
          this.setRing(r.handle.id, (r.handle.ref.ring + 1) as Ring, "slo", why)
            .catch(() => {/* reported by #restart */});
        }
        break;
      case "freeze_rollouts":
        this.delivery.freeze(why);
        break;
    }
  }

  /**
   * Resume the sagas a previous host left open (after a crash): forward where they were going
   * forward, compensating where they were compensating. Call once at start.
   */
  resumeSagas(): Promise<unknown[]> {
    return this.sagas.resume();
  }

  /**
   * Load a verified plugin: decide `plugin.load`, start its process at its installed ring under
   * its declared capabilities, and register its tools (`<plugin>.<tool>`, arguments validated by
   * the manifest's schemas; each call decided as `tool.call` like any tool).
   */
  async loadPlugin(p: PluginProcessSpec): Promise<AgentHandle> {
    const loader: AgentRef = { ...HOST_AGENT, workspace: this.stateDir, code: p.dir, sdk: SDK_DIR };
    const ruling = this.governor.decide(loader, {
      path: "host",
      action: "plugin.load",
      resource: `${p.name}@${p.version}`,
      args: { publisher: p.publisher, ring: p.ring },
    });
    if (ruling.effect !== "allow") {
      throw new Error(`plugin ${p.name}@${p.version} not loaded: ${ruling.reason}`);
    }
    const names = Object.keys(p.tools).map((t) => `${p.name}.${t}`);
    const taken = names.find((n) => this.tools.get(n));
    if (taken) throw new Error(`plugin ${p.name}: tool ${taken} is already registered`);
    const channel = new PluginChannel(p.name);
    const spec: AgentSpec = {
      module: p.entry,
      name: `plugin-${p.name}`,
      ring: p.ring as Ring,
      capabilities: p.capabilities,
      stdio: "null",
    };
    const handle = await this.#claimed(
      spec,
      (signer) => this.#start(spec, signer, p.ring, channel),
    );
    handle.exited.then(() => channel.close());
    for (const [tool, schema] of Object.entries(p.tools)) {
      this.tools.register(`${p.name}.${tool}`, {
        description: `${tool} from plugin ${p.name}@${p.version}`,
        schema,
        run: (args, ctx) =>
          channel.call(tool, args as Record<string, unknown>, ctx.signal, ctx.idempotencyKey),
      });
    }
    return handle;
  }

  /** Serve the host-to-host message endpoint on loopback; returns its URL. */
  servePeer(port = 0): { url: string; shutdown: () => Promise<void> } {
    const p = servePeer(this.messages, { port });
    this.#peerServers.push(p);
    return p;
  }

  /** Kill every agent, flush the audit log, and remove the state directory when it was ours. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      [...this.#agents.keys()].map((id) => this.kill(id, "host shutting down").catch(() => {})),
    );
    await Promise.all(this.#peerServers.map((p) => p.shutdown().catch(() => {})));
    await cgroupsRemoved();
    this.sre.close();
    await this.audit.close();
    if (!this.#opts.stateDir) {
      try {
        Deno.removeSync(this.stateDir, { recursive: true });
      } catch { /* best effort */ }
    }
  }
}

/** The first symlink under `root` whose target lies outside `root` (bounded walk), or null. */
function outwardSymlink(root: string, limit = 100_000): string | null {
  const stack = [root];
  let seen = 0;
  while (stack.length > 0 && seen++ < limit) {
    const dir = stack.pop()!;
    for (const e of Deno.readDirSync(dir)) {
      const p = join(dir, e.name);
      if (e.isSymlink) {
        let real: string;
        try {
          real = Deno.realPathSync(p);
        } catch {
          continue; // dangling: nothing to reach
        }
        if (real !== root && !real.startsWith(root + "/")) return p;
      } else if (e.isDirectory) stack.push(p);
    }
  }
  return null;
}

/**
 * The ring ceiling as kernel (Landlock) rules: `true` opens the whole filesystem for that kind
 * of access; lists name the trees. The agent's cache is always writable.
 */
function kernelRoots(
  c: RingCeiling,
  ref: AgentRef,
  denoDir: string,
  own: OwnCode,
): { readOnly: string[]; readWrite: string[] } {
  // `${code}` is the agent's own code file by file (and the SDK), never its directory.
  const code = [...own.expose, ref.sdk];
  const expand = (l: string[]) =>
    l.flatMap((x) => (x === "${workspace}" ? [ref.workspace] : x === "${code}" ? code : [x]))
      .filter((p) => p.startsWith("/"));
  const readOnly = c.read === true ? ["/"] : [...code, ...(c.read === false ? [] : expand(c.read))];
  const readWrite = c.write === true
    ? ["/"]
    : [denoDir, ...(c.write === false ? [] : expand(c.write))];
  return { readOnly, readWrite };
}

/** A verified plugin, ready to load (see runtime/plugins/). */
export interface PluginProcessSpec {
  name: string;
  version: string;
  publisher: string;
  /** Installed folder and absolute entry module path. */
  dir: string;
  entry: string;
  ring: number;
  capabilities: Capabilities;
  /** Argument validators per tool. */
  tools: Record<string, z.ZodType>;
}

/** An agent's default name: its file name, or the package name of an `npm:` entry. */
function agentName(module: string): string {
  if (module.startsWith("npm:")) {
    const pkg = module.slice(4).replace(/@[^@/]*$/, "");
    return pkg.split("/").pop() || "npm-agent";
  }
  return module.split("/").pop()!.replace(/\.[jt]sx?$/, "");
}

/** A fresh in-memory Ed25519 identity (the host keeps the key; the agent never sees it). */
async function newAgentSigner(): Promise<Signer> {
  const kp = await crypto.subtle.generateKey({ name: "Ed25519" }, false, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return signerFromKeyPair(kp);
}
