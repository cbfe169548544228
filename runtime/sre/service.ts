/**
 * SRE in the host: SLOs measured from real events (tool outcomes and latencies, policy
 * decisions), error budgets and burn-rate alerts evaluated every second, actions on breach
 * (alert, throttle, demote, kill, freeze rollouts), circuit breakers per tool and per agent
 * around tool execution, chaos fault injection inside the executors, and a status snapshot
 * for `deno task sre status`.
 */
import type { AuditEntry } from "../../governance/audit/mod.ts";
import {
  agentKey,
  BreakerRegistry,
  BreakerRegistryConfig,
  type SloAction,
  type SloDocument,
  SloMonitor,
  type SloStatus,
  toolKey,
} from "../../governance/sre/mod.ts";
import type { ToolGuard, ToolRun } from "../executors/runner.ts";
import type { AgentRef } from "../governor.ts";
import { Chaos, ChaosConfig, resilienceScore, wrapTool } from "./chaos.ts";
import type { z } from "zod";

export interface SreOptions {
  slos?: SloDocument;
  breakers?: z.input<typeof BreakerRegistryConfig>;
  chaos?: z.input<typeof ChaosConfig>;
  /** Where the status snapshot is written after each evaluation. */
  statusPath?: string;
  /** Evaluation period (default 1 s). */
  evaluateMs?: number;
  /** Bucket size of the SLO store (default 60 s; tests scale it down). */
  bucketMs?: number;
}

/** What the host does when an SLO breaks (the service decides, the host acts). */
export type SreAction = (
  slo: SloStatus,
  action: SloAction,
  scope: { agent?: string; tool?: string },
) => void;

/** Told of every SLO action after the host acted on it (fleet mode: a channel freeze). */
export type SreListener = (slo: SloStatus, action: SloAction) => void;

export class SreService implements ToolGuard {
  #monitor: SloMonitor | null = null;
  #slos: SloDocument | undefined;
  #listeners = new Set<SreListener>();
  readonly breakers: BreakerRegistry;
  readonly chaos: Chaos | null;
  #breached = new Set<string>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #closed = false;
  #last: SloStatus[] = [];
  #scopes = new Map<string, { agent?: string; tool?: string }>();

  constructor(readonly opts: SreOptions, readonly act: SreAction) {
    this.#setMonitor(opts.slos);
    this.breakers = new BreakerRegistry(
      opts.breakers ? BreakerRegistryConfig.parse(opts.breakers) : undefined,
    );
    const chaos = opts.chaos ? ChaosConfig.parse(opts.chaos) : null;
    this.chaos = chaos?.enabled ? new Chaos(chaos) : null;
    this.#startTimer();
  }

  /** The SLO monitor (null: no SLOs). */
  get monitor(): SloMonitor | null {
    return this.#monitor;
  }

  /** The SLO document in force. */
  get slos(): SloDocument | undefined {
    return this.#slos;
  }

  #setMonitor(doc: SloDocument | undefined): void {
    const slos = doc?.slos ?? [];
    this.#slos = doc;
    this.#monitor = slos.length ? new SloMonitor(slos, { bucketMs: this.opts.bucketMs }) : null;
    this.#scopes = new Map(slos.map((s) => [s.name, { ...s.scope }]));
    this.#breached.clear();
    this.#last = [];
  }

  #startTimer(): void {
    if (this.#timer !== null || this.#closed || !(this.#monitor || this.opts.statusPath)) return;
    this.#timer = setInterval(() => this.tick(Date.now()), this.opts.evaluateMs ?? 1000);
    Deno.unrefTimer(this.#timer);
  }

  /**
   * Replace the SLOs (a fleet bundle's SLO part; undefined: none). Measurements start afresh:
   * an SLO's budget is of the document that defines it.
   */
  setSlos(doc: SloDocument | undefined): void {
    this.#setMonitor(doc);
    this.#startTimer();
  }

  /** Call `fn` after each SLO action the host carried out; returns the removal. */
  onAction(fn: SreListener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Circuit breakers first: an open breaker (tool or agent) refuses at once. */
  before(agent: AgentRef, tool: string): { ok: true } | { ok: false; reason: string } {
    const now = Date.now();
    for (const key of [toolKey(tool), agentKey(agent.id)]) {
      const b = this.breakers.get(key);
      const r = b.tryAcquire(now);
      if (!r.permitted) {
        if (key === agentKey(agent.id)) this.breakers.get(toolKey(tool)).release(now);
        return { ok: false, reason: r.reason };
      }
    }
    return { ok: true };
  }

  /** Hand back the permits `before` took, for a call that did not run. */
  release(agent: AgentRef, tool: string): void {
    const now = Date.now();
    for (const key of [toolKey(tool), agentKey(agent.id)]) this.breakers.get(key).release(now);
  }

  after(agent: AgentRef, tool: string, durationMs: number, success: boolean): void {
    const now = Date.now();
    for (const key of [toolKey(tool), agentKey(agent.id)]) {
      this.breakers.get(key).onResult(now, { durationMs, success });
    }
    this.monitor?.record({ at: now, agent: agent.name, tool, ok: success, latencyMs: durationMs });
  }

  /** Policy decisions feed compliance SLOs. */
  observe(e: AuditEntry): void {
    if (!this.monitor || (e.path !== "broker" && e.path !== "sdk")) return;
    this.monitor.record({
      at: Date.parse(e.ts),
      agent: e.agent.name,
      kind: "compliance",
      allowed: e.effect === "allow",
    });
  }

  /** Faults injected into a tool's execution (when chaos is on), scoped by agent and tool. */
  inject(agent: AgentRef, tool: string, run: ToolRun): ToolRun {
    if (!this.chaos) return run;
    return wrapTool(run, this.chaos, { agent: agent.id, agentName: agent.name, tool });
  }

  /** Evaluate SLOs; act on newly breached ones; write the status snapshot. */
  tick(now: number): SloStatus[] {
    const statuses = this.monitor?.evaluate(now) ?? [];
    for (const s of statuses) {
      if (s.breached && !this.#breached.has(s.slo)) {
        this.#breached.add(s.slo);
        for (const a of s.actions) {
          this.act(s, a, this.#scopes.get(s.slo) ?? {});
          for (const l of this.#listeners) l(s, a);
        }
      } else if (!s.breached) this.#breached.delete(s.slo);
    }
    this.#last = statuses;
    if (this.opts.statusPath) {
      try {
        Deno.writeTextFileSync(
          this.opts.statusPath,
          JSON.stringify(this.status(now), null, 2) + "\n",
        );
      } catch { /* status is best effort */ }
    }
    return statuses;
  }

  /** SLOs, budgets, alerts, breakers and chaos, as of the last evaluation. */
  status(now = Date.now()) {
    const report = this.chaos?.report() ?? null;
    return {
      at: new Date(now).toISOString(),
      slos: this.#last,
      /** Events measured per SLO over its window: what compliance accepts as evidence. */
      measured: (this.monitor?.slos ?? []).map((s) => ({
        slo: s.name,
        windowMs: s.windowMs,
        ...this.monitor!.store.counts(s.name, now, s.windowMs),
      })),
      breakers: this.breakers.snapshots(now),
      chaos: report
        ? {
          ...report,
          resilience: resilienceScore(this.#last.map((s) => ({ name: s.slo, held: !s.breached }))),
        }
        : null,
    };
  }

  /** Stop evaluating (after a last evaluation, so the status file shows the end of the run). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    if (this.monitor || this.opts.statusPath) this.tick(Date.now());
  }
}
