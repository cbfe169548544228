/**
 * The SDK gateway: one unix socket per agent. Every frame is validated, turned into an
 * ActionRequest, decided (ring ceiling, then policy), audited, executed by the host, and
 * answered. Malformed frames are answered `invalid`; oversized frames, floods of malformed
 * frames and second connections are protocol violations that end the agent. The transport is
 * `transport.ts`, the ops are the table in `ops.ts`; this wires them.
 */
import type { ToolRegistry } from "../executors/tools.ts";
import { type ToolGuard, ToolRunner } from "../executors/runner.ts";
import type { AgentRef, ApprovalHandler, Governor } from "../governor.ts";
import type { Signer } from "../../governance/identity/mod.ts";
import type { MessageRouter } from "../messages/router.ts";
import type { SagaOrchestrator } from "../saga/orchestrator.ts";
import type { PluginChannel } from "../plugins/channel.ts";
import type { GovernedEnv } from "../rl/env.ts";
import type { MemoryService } from "../memory/service.ts";
import { type GatewayEvent, type OpContext, runOp, toRefusal } from "./ops.ts";
import { DEFAULT_LIMITS, FrameTransport, type GatewayLimits } from "./transport.ts";

export type { GatewayEvent, GatewayLimits };
export { DEFAULT_LIMITS };

/** Decides what happens to a `require_approval` decision (defined by the governor). */
export type { ApprovalHandler };

export interface GatewayOptions {
  path: string;
  agent: AgentRef;
  governor: Governor;
  tools: ToolRegistry;
  env: Record<string, string>;
  approvals?: ApprovalHandler;
  limits?: Partial<GatewayLimits>;
  onConnect?: () => void;
  onEvent?: (e: GatewayEvent) => void;
  /** A protocol violation: the host kills the agent. */
  onViolation?: (why: string) => void;
  /** Agent-to-agent messages, signed with this agent's key (held by the host). */
  messages?: { router: MessageRouter; signer: Signer };
  /** Runs sagas for this agent (each step and compensation decided as a tool call). */
  sagas?: SagaOrchestrator;
  /** Set when this process is a plugin: the host's tool calls for it. */
  plugin?: PluginChannel;
  /** Circuit breakers, chaos and SLO measurement around tool execution. */
  toolGuard?: ToolGuard;
  /** Runs `tool.call` (default: a ToolRunner over `tools`, `toolGuard` and `approvals`). */
  runner?: ToolRunner;
  /** The governed RL environment this agent (a learner) trains in. */
  environment?: GovernedEnv<unknown>;
  /** Agent memory (the host's one store). */
  memory?: MemoryService;
}

export type { ToolGuard };

export class Gateway {
  readonly #transport: FrameTransport;
  readonly #abort = new AbortController();
  readonly #ctx: OpContext;
  #closed = false;

  constructor(readonly opts: GatewayOptions) {
    const runner = opts.runner ?? new ToolRunner({
      governor: opts.governor,
      tools: opts.tools,
      guard: opts.toolGuard,
      approvals: () => opts.approvals,
    });
    this.#ctx = { ...opts, runner, signal: this.#abort.signal };
    this.#transport = new FrameTransport({
      path: opts.path,
      limits: { ...DEFAULT_LIMITS, ...opts.limits },
      onConnect: opts.onConnect,
      onViolation: (why) => {
        this.opts.onViolation?.(why);
        this.close();
      },
      onInvalid: (value, message) =>
        this.opts.governor.record(this.opts.agent, {
          path: "sdk",
          action: "sdk.invalid",
          resource: String((value as { op?: unknown })?.op ?? "?"),
        }, { effect: "deny", rule: null, reason: message }),
      handle: (req) => runOp(req, this.#ctx),
      refusal: (e) => toRefusal(e, this.#abort.signal),
    });
  }

  /** Requests handled (for stats). */
  get handled(): number {
    return this.#transport.handled;
  }

  /** Throttle this agent's SDK requests (an SLO action). */
  setRate(perSecond: number): void {
    this.#transport.setRate(perSecond);
  }

  /** Aborted when the agent is killed: executors stop their work. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Stop serving: in-flight operations are cancelled; later requests are refused. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new DOMException("the agent was stopped", "AbortError"));
    this.#transport.close();
  }
}
