/**
 * SagaOrchestrator: runs sagas (steps with compensations) for agents, all-or-compensated.
 *
 * Every transition goes to the journal (durable) before the orchestrator acts on it, and to the
 * audit log through the governor (`saga.start`, `saga.step`, `saga.compensate`, `saga.end`,
 * path "host"). Every action and compensation runs through the host's ToolRunner
 * (runtime/executors/runner.ts) like any tool call: validated, decided as `tool.call` (resource:
 * the tool, args: its arguments, context: saga id, step, phase), a `require_approval` parked in
 * the approval queue, then circuit breakers, chaos, the tool's deadline (and the step's) and
 * SLO measurement. A deny, an unapproved call or invalid arguments are non-retryable failures;
 * an open breaker (`busy`) and a timeout may be retried. Executions carry the idempotency key
 * `<sagaId>:<step>:do|undo`, the same on every retry and after a crash, so execution is
 * at-least-once and the effect exactly-once where the tool honours the key.
 * @module
 */
import {
  applyRecord,
  backoffDelay,
  DEFAULT_RETRY,
  idempotencyKey,
  isRetryable,
  nextMove,
  OPEN_STATUSES,
  replay,
  SagaDefinition,
  type SagaError,
  type SagaEvent,
  type SagaRecord,
  type SagaState,
} from "../../governance/saga/mod.ts";
import type { AgentRef, Governor } from "../governor.ts";
import { ToolRunner } from "../executors/runner.ts";
import type { SagaJournal } from "./journal.ts";
import { executeAsTools } from "./tools.ts";
import { abortableSleep, SagaStepError, toSagaError } from "./timing.ts";

export { SagaStepError };

/** Performs one tool call for an agent (a tool source without a ToolRegistry; see tools.ts). */
export type SagaExecute = (
  agent: AgentRef,
  tool: string,
  args: Record<string, unknown>,
  idempotencyKey: string,
  signal: AbortSignal,
) => Promise<unknown>;

/** What the orchestrator is built from. */
export interface SagaOrchestratorOptions {
  journal: SagaJournal;
  governor: Governor;
  /** Runs every step and compensation (the host's: its tools, breakers, chaos, approvals). */
  runner?: ToolRunner;
  /** Without a runner: the tools, run through a ToolRunner over `governor` alone. */
  execute?: SagaExecute;
  /** [0, 1) for backoff jitter (Math.random by default). */
  random?: () => number;
  /** Epoch ms (Date.now by default). */
  now?: () => number;
  /** New saga ids (a random UUID by default). */
  newId?: () => string;
}

/** Options of one `run`. */
export interface RunOptions {
  /** Saga id (generated when omitted; must be new). */
  id?: string;
}

/** Runs, resumes, lists and retries sagas over one journal. */
export class SagaOrchestrator {
  #opts: SagaOrchestratorOptions;
  #loading: Promise<Map<string, SagaState>> | null = null;
  #active = new Map<string, Promise<SagaState>>();
  #controls = new Map<string, { agent: string; ctl: AbortController }>();

  constructor(opts: SagaOrchestratorOptions) {
    if (!opts.runner && !opts.execute) throw new Error("a saga orchestrator needs a runner");
    this.#opts = opts;
  }

  /** The journal this orchestrator writes. */
  get journal(): SagaJournal {
    return this.#opts.journal;
  }

  /** The runner for `agent`'s calls. */
  #runner(agent: AgentRef): ToolRunner {
    const { runner, execute, governor } = this.#opts;
    return runner ?? new ToolRunner({ governor, tools: executeAsTools(execute!, agent) });
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  #load(): Promise<Map<string, SagaState>> {
    this.#loading ??= this.#opts.journal.load().then(replay);
    return this.#loading;
  }

  /** Journal a transition (durably), then apply it to the in-memory state. */
  async #append(id: string, event: SagaEvent): Promise<SagaState> {
    const states = await this.#load();
    const record = { ...event, saga: id, ts: this.#now() } as SagaRecord;
    await this.#opts.journal.append(record);
    const s = applyRecord(states, record);
    if (!s) throw new Error(`saga ${id}: record ${record.type} does not apply`);
    return s;
  }

  /** Audit a transition through the governor (path "host"; on disk when it returns). */
  #audit(
    s: SagaState,
    action: string,
    event: string,
    reason: string,
    more: Record<string, unknown> = {},
    effect: "allow" | "deny" = "allow",
  ): void {
    const { governor } = this.#opts;
    governor.record(
      s.agent,
      { path: "host", action, resource: s.id, context: { saga: s.id } },
      { effect, rule: null, reason },
      { saga: { id: s.id, name: s.name, event, ...more } },
    );
  }

  /**
   * Start a saga for `agent` and drive it to its end: completed, compensated, failed (failed
   * with nothing to compensate) or needs_attention. Throws on an invalid definition.
   */
  async run(
    agent: AgentRef,
    definition: SagaDefinition,
    opts: RunOptions = {},
  ): Promise<SagaState> {
    const parsed = SagaDefinition.safeParse(definition);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new Error(`invalid saga definition: ${i.path.join(".") || "definition"}: ${i.message}`);
    }
    const states = await this.#load();
    const id = opts.id ?? (this.#opts.newId ?? (() => crypto.randomUUID()))();
    if (states.has(id)) throw new Error(`saga ${id} already exists`);
    const { id: aid, name, ring, trust, labels, workspace, code, sdk } = agent;
    const s = await this.#append(id, {
      type: "saga.started",
      agent: { id: aid, name, ring, trust, labels, workspace, code, sdk },
      definition: parsed.data,
    });
    this.#audit(s, "saga.start", "started", `saga "${s.name}" started`, {
      steps: s.steps.length,
    });
    return await this.#track(id);
  }

  /** Resume every open saga (running forward, or compensating) in the journal. */
  async resume(): Promise<SagaState[]> {
    const states = await this.#load();
    const open = [...states.values()].filter((s) => OPEN_STATUSES.includes(s.status));
    return await Promise.all(open.map((s) => this.#track(s.id)));
  }

  /**
   * Take over sagas whose records another journal owner wrote (fleet takeover,
   * runtime/fleet/sagas.ts): replace their state with the replayed records and resume the
   * open ones, as `resume` does. Sagas driven here right now are left alone.
   */
  async adopt(records: Iterable<SagaRecord>): Promise<SagaState[]> {
    const states = await this.#load();
    const fresh = replay(records);
    const open: string[] = [];
    for (const [id, s] of fresh) {
      if (this.#active.has(id)) continue;
      states.set(id, s);
      if (OPEN_STATUSES.includes(s.status)) open.push(id);
    }
    return await Promise.all(open.map((id) => this.#track(id)));
  }

  /** Resume the compensation of a saga parked as `needs_attention`. */
  async retry(id: string): Promise<SagaState> {
    const s = (await this.#load()).get(id);
    if (!s) throw new Error(`no saga ${id}`);
    if (this.#active.has(id)) return await this.#active.get(id)!;
    if (s.status !== "needs_attention") {
      throw new Error(`saga ${id} is ${s.status}, not needs_attention`);
    }
    await this.#append(id, { type: "saga.retry" });
    this.#audit(s, "saga.compensate", "retry", "compensation resumed by an operator");
    return await this.#track(id);
  }

  /** Every saga in the journal (a snapshot). */
  async list(): Promise<SagaState[]> {
    return [...(await this.#load()).values()].map((s) => structuredClone(s));
  }

  /** One saga (a snapshot), or undefined. */
  async get(id: string): Promise<SagaState | undefined> {
    const s = (await this.#load()).get(id);
    return s && structuredClone(s);
  }

  /** Drive a saga once per process: concurrent callers share the same run. */
  #track(id: string): Promise<SagaState> {
    const running = this.#active.get(id);
    if (running) return running;
    const p = this.#drive(id).then((s) => structuredClone(s)).finally(() =>
      this.#active.delete(id)
    );
    this.#active.set(id, p);
    return p;
  }

  async #drive(id: string): Promise<SagaState> {
    const s = (await this.#load()).get(id)!;
    // The overall timeout bounds the forward phase, counted from the saga's start.
    const sagaCtl = new AbortController();
    this.#controls.set(id, { agent: s.agent.id, ctl: sagaCtl });
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (s.definition.timeoutMs !== undefined) {
      const left = s.startedAt + s.definition.timeoutMs - this.#now();
      const fire = () =>
        sagaCtl.abort(
          new SagaStepError("saga_timeout", `saga timed out after ${s.definition.timeoutMs} ms`),
        );
      if (left <= 0) fire();
      else timer = setTimeout(fire, left);
    }
    try {
      while (true) {
        const move = nextMove(s);
        if (move.kind === "none") return s;
        if (move.kind === "do") {
          if (sagaCtl.signal.aborted) {
            const reason = (sagaCtl.signal.reason as Error).message;
            await this.#append(id, { type: "saga.compensating", reason });
            this.#audit(s, "saga.step", "timeout", reason, {}, "deny");
          } else await this.#doStep(s, move.step, sagaCtl.signal);
        } else if (move.kind === "undo") {
          await this.#undoStep(s, move.step);
        } else if (move.kind === "complete") {
          await this.#append(id, { type: "saga.completed" });
          this.#audit(s, "saga.end", "completed", `saga "${s.name}" completed`);
        } else if (move.compensated === 0) {
          const reason = s.reason ?? "failed";
          await this.#append(id, { type: "saga.failed", reason });
          this.#audit(s, "saga.end", "failed", `nothing to compensate; ${reason}`, {}, "deny");
        } else {
          await this.#append(id, { type: "saga.compensated" });
          this.#audit(
            s,
            "saga.end",
            "compensated",
            `${move.compensated} step(s) compensated; ${s.reason ?? ""}`,
          );
        }
      }
    } finally {
      clearTimeout(timer);
      this.#controls.delete(id);
    }
  }

  /**
   * Stop the forward phase of every saga running for `agentId` (its agent was killed): the
   * in-flight step is cancelled and the completed steps are compensated.
   */
  abortAgent(agentId: string, reason: string): void {
    for (const { agent, ctl } of this.#controls.values()) {
      if (agent === agentId) ctl.abort(new SagaStepError("killed", reason));
    }
  }

  /** Run the call through the runner, with the step's key and per-attempt timeout. */
  async #invoke(
    s: SagaState,
    step: number,
    phase: "do" | "undo",
    signal: AbortSignal,
  ): Promise<unknown> {
    const def = s.definition.steps[step];
    const call = phase === "do" ? def.action : def.compensation;
    return await this.#runner(s.agent).call({
      agent: s.agent,
      tool: call.tool,
      args: call.args,
      path: "host",
      context: { saga: s.id, step, phase },
      idempotencyKey: idempotencyKey(s.id, step, phase),
      signal,
      timeoutMs: def.timeoutMs,
    });
  }

  async #doStep(s: SagaState, step: number, sagaSignal: AbortSignal): Promise<void> {
    const def = s.definition.steps[step];
    const policy = def.retry ?? DEFAULT_RETRY;
    const first = s.steps[step].attempts + 1;
    // A resumed step gets a fresh budget of attempts (the in-flight one is run again).
    for (let n = 1; n <= policy.attempts; n++) {
      const attempt = first + n - 1;
      await this.#append(s.id, { type: "step.started", step, attempt });
      this.#audit(s, "saga.step", "started", `step ${step} "${def.name}" attempt ${attempt}`, {
        step,
        attempt,
      });
      let error: SagaError;
      try {
        const result = await this.#invoke(s, step, "do", sagaSignal);
        await this.#append(s.id, { type: "step.succeeded", step, attempt, result });
        this.#audit(s, "saga.step", "succeeded", `step ${step} "${def.name}" succeeded`, {
          step,
          attempt,
        });
        return;
      } catch (e) {
        error = sagaSignal.aborted ? toSagaError(sagaSignal.reason) : toSagaError(e);
      }
      const final = n === policy.attempts || sagaSignal.aborted ||
        !isRetryable(policy, error.code);
      await this.#append(s.id, { type: "step.failed", step, attempt, error, final });
      this.#audit(
        s,
        "saga.step",
        "failed",
        `step ${step} "${def.name}" failed: ${error.code}: ${error.message}`,
        { step, attempt, final, error: error.code },
        "deny",
      );
      if (final) return;
      await abortableSleep(backoffDelay(policy, n, this.#opts.random ?? Math.random), sagaSignal);
      if (sagaSignal.aborted) {
        error = toSagaError(sagaSignal.reason);
        await this.#append(s.id, { type: "step.failed", step, attempt, error, final: true });
        this.#audit(s, "saga.step", "failed", `step ${step} "${def.name}": ${error.message}`, {
          step,
          attempt,
          final: true,
          error: error.code,
        }, "deny");
        return;
      }
    }
  }

  async #undoStep(s: SagaState, step: number): Promise<void> {
    const def = s.definition.steps[step];
    const policy = def.retry ?? DEFAULT_RETRY;
    const first = s.steps[step].undoAttempts + 1;
    const never = new AbortController().signal;
    for (let n = 1; n <= policy.attempts; n++) {
      const attempt = first + n - 1;
      await this.#append(s.id, { type: "compensation.started", step, attempt });
      this.#audit(
        s,
        "saga.compensate",
        "started",
        `compensation of step ${step} "${def.name}" attempt ${attempt}`,
        { step, attempt },
      );
      let error: SagaError;
      try {
        await this.#invoke(s, step, "undo", never);
        await this.#append(s.id, { type: "compensation.succeeded", step, attempt });
        this.#audit(
          s,
          "saga.compensate",
          "succeeded",
          `step ${step} "${def.name}" compensated`,
          { step, attempt },
        );
        return;
      } catch (e) {
        error = toSagaError(e);
      }
      const final = n === policy.attempts || !isRetryable(policy, error.code);
      await this.#append(s.id, { type: "compensation.failed", step, attempt, error, final });
      this.#audit(
        s,
        "saga.compensate",
        final ? "needs_attention" : "failed",
        `compensation of step ${step} "${def.name}" failed: ${error.code}: ${error.message}`,
        { step, attempt, final, error: error.code },
        "deny",
      );
      if (final) return;
      await abortableSleep(backoffDelay(policy, n, this.#opts.random ?? Math.random), never);
    }
  }
}
