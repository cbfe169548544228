/**
 * AgentHost: runs each agent in its own sandboxed Deno process at a ring, and wires its
 * permission broker, SDK gateway, watchdog and kill switch to one governor (ceiling -> policy
 * -> audit). This file holds the registry of running agents, the kill switch and `setRing`, the
 * one way to change a running agent's ring; one agent's start is host/start.ts (its plan:
 * supervisor/launch.ts), the trust and SLO reactions are trust/reactions.ts and
 * sre/reactions.ts, plugin loading is plugins/load.ts.
 */
import { resolve } from "node:path";
import type { Signer } from "../governance/identity/mod.ts";
import type { Ring, RingCeilings } from "../governance/rings/mod.ts";
import { AuditLog } from "./audit/log.ts";
import { ToolRunner } from "./executors/runner.ts";
import { ToolRegistry } from "./executors/tools.ts";
import type { ApprovalHandler } from "./gateway/gateway.ts";
import { answeredCompatibly, Governor, HOST_AGENT } from "./governor.ts";
import { AgentHandle } from "./host/handle.ts";
import { denialFlood, exitReason, type Running, sloHost, trustHost } from "./host/running.ts";
import { type StartContext, startProcess } from "./host/start.ts";
import type { AgentExit, AgentSpec, HostEvent, HostOptions, RingCause } from "./host/types.ts";
import { IdentityClaims } from "./identity/claims.ts";
import { MemoryService } from "./memory/service.ts";
import { MessageRouter } from "./messages/router.ts";
import type { PluginChannel } from "./plugins/channel.ts";
import { loadPlugin, type PluginProcessSpec } from "./plugins/load.ts";
import { PolicyDelivery } from "./policy/delivery.ts";
import { FileSagaJournal, journalPath } from "./saga/journal.ts";
import { SagaOrchestrator } from "./saga/orchestrator.ts";
import { servePeer } from "./server/peer.ts";
import { reactToSlo } from "./sre/reactions.ts";
import { SreService } from "./sre/service.ts";
import { cgroupsRemoved } from "./supervisor/cgroup.ts";
import { budgetLayers, kernelKill, watchedBudgets } from "./supervisor/limits.ts";
import { agentName } from "./supervisor/launch.ts";
import { landlockSandbox } from "./supervisor/sandbox/build.ts";
import { UNCONFINED, unconfinedWarning } from "./supervisor/sandbox/mode.ts";
import { killGroup } from "./supervisor/spawn.ts";
import { Watchdog } from "./supervisor/watchdog.ts";
import { trustCap, TrustReactions } from "./trust/reactions.ts";
import { TrustService } from "./trust/service.ts";

/** Why the host stops its agents when it closes (audited `agent.stop`, not a kill). */
const HOST_STOP = "host shutting down";

export { AgentHandle };
export type { AgentExit, AgentSpec, HostEvent, HostOptions, PluginProcessSpec, RingCause };

/** What a {@link HostGuard} is asked about: an agent start, a plugin load, a ring raise. */
export interface GuardAsk {
  kind: "start" | "plugin" | "raise";
  name: string;
  did?: string;
  ring?: number;
}
/** A refusal consulted before privilege rises (fleet bans, isolation): a reason, or undefined. */
export type HostGuard = (ask: GuardAsk) => string | undefined;

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
  /** Governed agent memory (`<stateDir>/memory.db` unless `HostOptions.memory.path`). */
  readonly memory: MemoryService;
  readonly tools: ToolRegistry;
  readonly stateDir: string;
  #opts: HostOptions;
  readonly #agents = new Map<string, Running>();
  /** Identities held by live, starting or restarting agents (one live agent per identity). */
  readonly #claims: IdentityClaims;
  readonly #trust: TrustReactions;
  readonly #watchdog = new Watchdog();
  #seq = 0;
  readonly #startContext: StartContext;
  #closed = false;
  #peerServers: { shutdown: () => Promise<void> }[] = [];
  readonly #guards = new Set<HostGuard>();

  constructor(opts: HostOptions) {
    this.#opts = opts;
    this.#startContext = { host: this, opts, seq: () => ++this.#seq, emit: (e) => this.#emit(e) };
    this.audit = opts.audit ?? new AuditLog(opts.auditPath, { signer: opts.signer });
    this.governor = new Governor(opts.policy, opts.rings, this.audit);
    this.messages = new MessageRouter(this.governor, { peers: opts.peers });
    this.trust = opts.trust ?? new TrustService();
    this.#claims = new IdentityClaims(opts.keystore);
    this.#trust = new TrustReactions(this.trust, trustHost(this.#agents, this, () => this.#closed));
    this.audit.subscribe((e) => queueMicrotask(() => this.#trust.audited(e)));
    this.governor.onDecided((agent, ruling, ask) =>
      queueMicrotask(() => this.#trust.decided(agent.id, ask, ruling))
    );
    this.tools = opts.tools ?? new ToolRegistry();
    const warning = unconfinedWarning(opts);
    if (warning) console.error(warning);
    this.stateDir = opts.stateDir ?? Deno.makeTempDirSync({ prefix: "warden-" });
    Deno.mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    this.delivery = new PolicyDelivery(this.governor);
    this.memory = new MemoryService(this.governor, this.stateDir, opts.memory);
    const slo = sloHost(this.#agents, this, this.#trust, (e) => this.#emit(e));
    this.sre = new SreService(
      opts.sre ?? {},
      (status, action, scope) => reactToSlo(slo, status, action, scope),
    );
    this.audit.subscribe((e) => this.sre.observe(e));
    this.sagas = new SagaOrchestrator({
      journal: opts.sagaJournal ?? new FileSagaJournal(journalPath(this.stateDir)),
      governor: this.governor,
      // Steps and compensations are tool calls like the SDK's: breakers, chaos, approvals.
      runner: new ToolRunner({
        governor: this.governor,
        tools: this.tools,
        guard: this.sre,
        approvals: () => this.#opts.approvals,
      }),
    });
    this.governor.onDeny((agent, ruling, ask) => {
      const r = this.#agents.get(agent.id);
      if (!r || r.killedAt !== null) return;
      // Libraries probe unset variables and optional files again and again: a probe answered
      // as unset or as the OS would is no attack (the broker's rate budget still bounds it).
      if (answeredCompatibly(ask, this.governor.severityOf(ruling.rule))) return;
      const why = denialFlood(r, opts.killOnDenials, ask.path, performance.now());
      if (why) this.kill(agent.id, why);
    });
  }

  /**
   * Swap the ring ceilings and budgets (a fleet bundle's rings part): the next decision of
   * every agent uses them; processes started from now on get their flags and budgets.
   */
  setRings(rings: RingCeilings): void {
    this.#opts.rings = rings;
    this.governor.rings = rings;
  }

  /** Consult `g` before every start, plugin load and ring raise; returns the removal. */
  addGuard(g: HostGuard): () => void {
    this.#guards.add(g);
    return () => this.#guards.delete(g);
  }

  /** Throw (and audit, as the host) the first guard's refusal of `ask`. */
  #guarded(ask: GuardAsk): void {
    for (const g of this.#guards) {
      const why = g(ask);
      if (why === undefined) continue;
      const action = { start: "agent.start", plugin: "plugin.load", raise: "agent.ring" }[ask.kind];
      this.governor.record(HOST_AGENT, { path: "host", action, resource: ask.name }, {
        effect: "deny",
        rule: null,
        reason: why,
      }, ask.did ? { refusedDid: ask.did } : {});
      throw new Error(why);
    }
  }

  /**
   * A trust score changed outside this host's own events (fleet mode: the database row moved):
   * follow it for the running agent `did` as trust reactions do (demote, restart, revoke).
   */
  trustChanged(did: string, before: number, after: number): void {
    this.#trust.changed(did, before, after);
  }

  /** Route `require_approval` decisions of agents started from now on (an approval queue). */
  setApprovalHandler(h: ApprovalHandler | undefined): void {
    this.#opts.approvals = h;
  }

  /** The kernel sandbox agents run in (path null: broker only, with the reason). */
  sandbox(): { path: string | null; why: string; abi?: number; netns?: true | string } {
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
    kind: "start" | "plugin" = "start",
  ): Promise<AgentHandle> {
    if (this.#closed) throw new Error("the host is closed");
    const npm = spec.module.startsWith("npm:");
    const name = spec.name ?? agentName(npm ? spec.module : resolve(spec.module));
    return await this.#claims.claimed(name, (signer) => {
      this.#guarded({ kind, name, did: signer.did, ring: spec.ring });
      return launch(signer);
    });
  }

  async #start(
    spec: AgentSpec,
    signer: Signer,
    assigned: number,
    plugin?: PluginChannel,
  ): Promise<AgentHandle> {
    if (this.#closed) throw new Error("the host is closed");
    const started = await startProcess(this.#startContext, spec, signer, plugin);
    const { ref, ring, capNote, child, broker, gateway, budgets, cgroup, paths, own, confined } =
      started;
    const { id, name } = ref;
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
    if (this.#closed) queueMicrotask(() => this.#end(id, HOST_STOP, true).catch(() => {}));
    this.messages.register(ref);
    running.unwatch = this.#watchdog.watch({
      pid: child.pid,
      cpuMs: spec.cpuMs ?? null,
      ...watchedBudgets(budgets, cgroup, [ref.workspace, paths.denoDir]),
      onBreach: (why) => this.kill(id, why),
    });
    if (spec.timeoutMs !== undefined) {
      running.timer = setTimeout(
        () => this.kill(id, `timeout: ${spec.timeoutMs} ms`),
        spec.timeoutMs,
      );
    }
    this.governor.record(ref, { path: "host", action: "agent.start", resource: own.module }, {
      effect: "allow",
      rule: null,
      reason: `started pid ${child.pid} at ring ${ring}${capNote}${
        confined ? "" : `; ${UNCONFINED}`
      }`,
    }, {
      sandbox: confined ? "kernel" : "off",
      limits: budgetLayers(cgroup),
      layers: Object.fromEntries(started.layers.map((l) => [l.layer, `${l.state}: ${l.detail}`])),
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
    if (!r.restarting) this.#claims.release(handle.id);
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
    this.governor.record(handle.ref, {
      path: "host",
      action: "agent.exit",
      resource: String(handle.pid),
    }, {
      effect: "allow",
      rule: null,
      reason: exitReason(handle.killReason, s, code),
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
    return await this.#end(id, reason, false);
  }

  /**
   * End an agent the host is done with — an MCP gateway's session closed, the host shutting
   * down — rather than one it stops for cause: the same SIGKILL as `kill`, audited as
   * `agent.stop` (effect allow): no kill event, no trust penalty.
   */
  async stop(id: string, reason: string): Promise<AgentExit> {
    return await this.#end(id, reason, true);
  }

  /**
   * End an agent (SIGKILL, as `kill`). `stop`: the host's own stop when it shuts down — not a
   * denial and not a kill switch: audited `agent.stop` (effect allow), no kill event, no penalty.
   */
  async #end(id: string, reason: string, stop: boolean): Promise<AgentExit> {
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
        action: stop ? "agent.stop" : "agent.kill",
        resource: String(r.handle.pid),
      }, {
        effect: stop ? "allow" : "deny",
        rule: null,
        reason: stop ? `host stop: ${reason}` : `kill switch: ${reason}`,
      });
      const t0 = r.killedAt;
      if (!stop) {
        r.handle.exited.then(() => {
          this.#emit({
            type: "kill",
            agent: r.handle.name,
            reason,
            latencyMs: performance.now() - t0,
          });
        });
      }
    }
    return await r.handle.exited;
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
      const cap = trustCap(ring, ref.trust);
      to = cap.ring;
      note += cap.note;
    }
    if (to === from) return r.handle;
    if (to < from) this.#guarded({ kind: "raise", name: ref.name, did: r.signer.did, ring: to });
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
      this.#claims.release(signer.did);
      r.handle._next(null);
      const why = `restart failed: ${(e as Error).message}`;
      if (!this.#closed) this.#emit({ type: "kill", agent: name, reason: why });
      throw new Error(`agent ${name}: ${why}`);
    }
    r.handle._next(next);
    this.#emit({ type: "restart", agent: next.name, id: next.id, pid: next.pid, ring, cause });
    return next;
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
  loadPlugin(p: PluginProcessSpec): Promise<AgentHandle> {
    return loadPlugin({
      governor: this.governor,
      tools: this.tools,
      stateDir: this.stateDir,
      launch: (spec, ring, channel) =>
        this.#claimed(spec, (signer) => this.#start(spec, signer, ring, channel), "plugin"),
    }, p);
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
      [...this.#agents.keys()].map((id) => this.#end(id, HOST_STOP, true).catch(() => {})),
    );
    await Promise.all(this.#peerServers.map((p) => p.shutdown().catch(() => {})));
    await cgroupsRemoved();
    this.sre.close();
    this.memory.close();
    await this.audit.close();
    if (!this.#opts.stateDir) {
      try {
        Deno.removeSync(this.stateDir, { recursive: true });
      } catch { /* best effort */ }
    }
  }
}
