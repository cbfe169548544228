/**
 * The one tool runner: every host-side tool call — an SDK `tools.call`, a saga step or
 * compensation, a plugin tool, a framework (`--host-tools`) tool — goes through `ToolRunner.call`:
 *
 *   validate (the tool's zod schema) → breaker → authorize (approvals) → chaos → deadline → run
 *   → SLO and breaker record.
 *
 * The breaker is asked before the decision is made, so a call refused by an open circuit leaves
 * one audit entry (its refusal), not a decision and then a refusal; a permit taken for a call
 * that the policy then refuses is handed back. The idempotency key, when the caller has one
 * (sagas), reaches the tool in its context whatever kind of tool it is.
 * @module
 */
import type { Refusal } from "../../sdk/wire_schema.ts";
import type { AgentRef, ApprovalHandler, Ask, Governor, Refused } from "../governor.ts";
import { refusalMessage } from "../governor.ts";
import type { Tool, ToolContext, ToolRegistry } from "./tools.ts";

/** A tool's implementation, as the runner calls it. */
export type ToolRun = (args: Record<string, unknown>, ctx: ToolContext) => Promise<unknown>;

/** Wraps tool execution: may refuse fast (an open breaker) and sees every outcome. */
export interface ToolGuard {
  /** Take a permit (an open breaker, tool or agent, refuses at once). */
  before(agent: AgentRef, tool: string): { ok: true } | { ok: false; reason: string };
  /** Give back a permit taken by `before` for a call that did not run (refused by policy). */
  release?(agent: AgentRef, tool: string): void;
  /** The outcome of a call that ran (breakers and SLOs). */
  after(agent: AgentRef, tool: string, durationMs: number, success: boolean): void;
  /** Decorate the execution of `tool` for `agent` (chaos fault injection). */
  inject?(agent: AgentRef, tool: string, run: ToolRun): ToolRun;
}

/** Why the runner did not run a call (the tool itself failing is its own error). */
export class ToolRefusal extends Error implements Refusal {
  constructor(
    readonly code: Refused["code"] | "invalid" | "busy",
    message: string,
    readonly rule: string | null = null,
    /** The deciding rule's own reason (see Refusal in sdk/wire_schema.ts). */
    readonly ruleReason: string | null = null,
  ) {
    super(message);
    this.name = "ToolRefusal";
  }
}

/** One call for the runner. */
export interface ToolCall {
  agent: AgentRef;
  tool: string;
  /** Unvalidated arguments (the tool's schema parses them). */
  args: unknown;
  /** Decision path for the audit log. */
  path: Ask["path"];
  /** Extra request context (`saga`, `step`, `phase` for sagas). */
  context?: Record<string, unknown>;
  idempotencyKey?: string;
  /** Aborted when the caller gives up (agent killed, saga aborted). */
  signal: AbortSignal;
  /** A tighter deadline than the tool's own (a saga step's `timeoutMs`). */
  timeoutMs?: number;
}

/** Where the runner finds tools: a ToolRegistry, or an adapter with the same two methods. */
export type ToolSource = Pick<ToolRegistry, "validate" | "get">;

/** What the runner is built from. */
export interface ToolRunnerOptions {
  governor: Governor;
  tools: ToolSource;
  /** Breakers, chaos and SLO measurement (the host's SreService). */
  guard?: ToolGuard | null;
  /** Where `require_approval` goes, read at each call (the host can install a queue later). */
  approvals?: () => ApprovalHandler | undefined;
}

/** Default per-call deadline of a tool that sets no `timeoutMs`. */
export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;

export class ToolRunner {
  constructor(readonly opts: ToolRunnerOptions) {}

  /** Run one call through every stage; throws a ToolRefusal, a timeout or the tool's error. */
  async call(c: ToolCall): Promise<unknown> {
    const { governor, tools, guard } = this.opts;
    const { agent, tool: name, path } = c;
    const ask = (args: unknown): Ask => ({
      path,
      action: "tool.call",
      resource: name,
      args: args as Record<string, unknown>,
      ...(c.context ? { context: c.context } : {}),
    });
    const v = tools.validate(name, c.args);
    if (!v.ok) {
      governor.record(agent, ask(c.args), { effect: "deny", rule: null, reason: v.error });
      throw new ToolRefusal("invalid", v.error);
    }
    const gate = guard?.before(agent, name);
    if (gate && !gate.ok) {
      governor.record(agent, ask(v.args), { effect: "deny", rule: null, reason: gate.reason });
      throw new ToolRefusal("busy", gate.reason);
    }
    const { refused } = await governor.authorize(agent, ask(v.args), {
      approvals: this.opts.approvals?.(),
    });
    if (refused || c.signal.aborted) {
      guard?.release?.(agent, name);
      if (!refused) throw c.signal.reason; // the caller gave up while an approval was waited for
      throw new ToolRefusal(
        refused.code,
        refusalMessage(refused),
        refused.rule,
        refused.ruleReason,
      );
    }
    const tool: Tool = tools.get(name)!;
    const plain: ToolRun = async (args, ctx) => await tool.run(args, ctx);
    const run = guard?.inject ? guard.inject(agent, name, plain) : plain;
    const ms = Math.min(tool.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS, c.timeoutMs ?? Infinity);
    const started = performance.now();
    try {
      const result = await withDeadline(
        c.signal,
        ms,
        (signal) =>
          run(v.args, {
            agentId: agent.id,
            agentName: agent.name,
            workspace: agent.workspace,
            signal,
            ...(c.idempotencyKey !== undefined ? { idempotencyKey: c.idempotencyKey } : {}),
          }),
      );
      guard?.after(agent, name, performance.now() - started, true);
      return result;
    } catch (e) {
      guard?.after(agent, name, performance.now() - started, false);
      throw e;
    }
  }
}

/**
 * Run `work` with a signal that aborts when `parent` does or after `ms` (a TimeoutError); the
 * call rejects at that moment even when the work ignores its signal, and the timer is cleared
 * as soon as the work settles, so finished calls hold no timers.
 */
export function withDeadline<T>(
  parent: AbortSignal,
  ms: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (parent.aborted) return Promise.reject(parent.reason);
  const ctl = new AbortController();
  const onParent = () => ctl.abort(parent.reason);
  parent.addEventListener("abort", onParent, { once: true });
  const timer = setTimeout(
    () => ctl.abort(new DOMException(`timed out after ${ms} ms`, "TimeoutError")),
    ms,
  );
  return new Promise<T>((resolve, reject) => {
    ctl.signal.addEventListener("abort", () => reject(ctl.signal.reason), { once: true });
    work(ctl.signal).then(resolve, reject);
  }).finally(() => {
    clearTimeout(timer);
    parent.removeEventListener("abort", onParent);
  });
}
