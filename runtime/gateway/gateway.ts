/**
 * The SDK gateway: one unix socket per agent. Every frame is validated, turned into an
 * ActionRequest, decided (ring ceiling, then policy), audited, executed by the host, and
 * answered. Malformed frames are answered `invalid`; oversized frames, floods of malformed
 * frames and second connections are protocol violations that end the agent.
 */
import { encodeFrame, FrameDecoder } from "../../sdk/frames.ts";
import {
  type ErrorCode,
  MAX_REQUEST_BYTES,
  MAX_RESPONSE_BYTES,
  type Refusal,
  SdkRequest,
  type SdkResponse,
} from "../../sdk/wire_schema.ts";
import { readText, resolveInWorkspace, writeText } from "../executors/fs.ts";
import { httpFetch } from "../executors/http.ts";
import type { ToolRegistry } from "../executors/tools.ts";
import { type ToolGuard, ToolRefusal, ToolRunner, withDeadline } from "../executors/runner.ts";
import {
  type AgentRef,
  type ApprovalHandler,
  type Ask,
  type Governor,
  refusalMessage,
} from "../governor.ts";
import { canonicalJson } from "../../governance/audit/mod.ts";
import type { Signer } from "../../governance/identity/mod.ts";
import { MAX_PAYLOAD, type MessageRouter } from "../messages/router.ts";
import { SagaDefinition } from "../../governance/saga/mod.ts";
import type { SagaOrchestrator } from "../saga/orchestrator.ts";
import type { PluginChannel } from "../plugins/channel.ts";
import type { GovernedEnv } from "../rl/env.ts";

/** Something the agent produced through the SDK. */
export type GatewayEvent =
  | { type: "output"; agent: string; output: unknown }
  | { type: "log"; agent: string; level: string; message: string };

/** Decides what happens to a `require_approval` decision (defined by the governor). */
export type { ApprovalHandler };

export interface GatewayLimits {
  maxInFlight: number;
  /** Sustained requests per second (token bucket). */
  ratePerSecond: number;
  burst: number;
  /** Malformed frames tolerated before the agent is ended. */
  maxMalformed: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  maxInFlight: 64,
  ratePerSecond: 5000,
  burst: 5000,
  maxMalformed: 100,
};

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
}

export type { ToolGuard };

/** A refusal made here or by the governor, thrown until it is answered as the wire's Refusal. */
class RefusalError extends Error implements Refusal {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly rule: string | null = null,
    readonly ruleReason: string | null = null,
  ) {
    super(message);
  }
}

export class Gateway {
  #listener: Deno.Listener;
  #conn: Deno.Conn | null = null;
  #closed = false;
  #inFlight = 0;
  #tokens: number;
  #lastRefill = performance.now();
  #malformed = 0;
  #writeChain: Promise<void> = Promise.resolve();
  readonly #abort = new AbortController();
  #limits: GatewayLimits;
  readonly #runner: ToolRunner;
  /** Requests handled (for stats). */
  handled = 0;

  constructor(readonly opts: GatewayOptions) {
    this.#runner = opts.runner ?? new ToolRunner({
      governor: opts.governor,
      tools: opts.tools,
      guard: opts.toolGuard,
      approvals: () => opts.approvals,
    });
    this.#limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.#tokens = this.#limits.burst;
    this.#listener = Deno.listen({ transport: "unix", path: opts.path });
    Deno.chmodSync(opts.path, 0o600);
    this.#accept();
  }

  /** Throttle this agent's SDK requests (an SLO action). */
  setRate(perSecond: number): void {
    this.#limits.ratePerSecond = perSecond;
    this.#limits.burst = Math.max(1, perSecond);
    this.#tokens = Math.min(this.#tokens, this.#limits.burst);
  }

  /** Aborted when the agent is killed: executors stop their work. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        if (this.#conn || this.#closed) {
          conn.close();
          if (!this.#closed) this.#violation("a second connection to the SDK socket");
          continue;
        }
        this.#conn = conn;
        this.opts.onConnect?.();
        this.#serve(conn);
      }
    } catch { /* listener closed */ }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const dec = new FrameDecoder(MAX_REQUEST_BYTES);
    const buf = new Uint8Array(64 * 1024);
    try {
      while (!this.#closed) {
        const n = await conn.read(buf);
        if (n === null) break;
        for (const ev of dec.push(buf.subarray(0, n))) {
          if (ev.kind === "oversized") {
            this.#violation(`oversized SDK frame (${ev.size} bytes > ${MAX_REQUEST_BYTES})`);
            return;
          }
          if (ev.kind === "malformed") {
            this.#reply({
              id: null,
              ok: false,
              error: { code: "invalid", message: `malformed frame: ${ev.error}` },
            });
            if (++this.#malformed > this.#limits.maxMalformed) {
              this.#violation(`more than ${this.#limits.maxMalformed} malformed SDK frames`);
              return;
            }
            continue;
          }
          this.#dispatch(ev.value);
        }
      }
    } catch { /* connection reset */ }
  }

  #takeToken(): boolean {
    const now = performance.now();
    const { ratePerSecond, burst } = this.#limits;
    this.#tokens = Math.min(
      burst,
      this.#tokens + ((now - this.#lastRefill) / 1000) * ratePerSecond,
    );
    this.#lastRefill = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #dispatch(value: unknown): void {
    const rawId = value !== null && typeof value === "object" && "id" in value
      ? (value as { id: unknown }).id
      : null;
    const id = typeof rawId === "number" && Number.isSafeInteger(rawId) && rawId >= 0
      ? rawId
      : null;
    if (this.#closed) {
      this.#reply({
        id,
        ok: false,
        error: { code: "killed", message: "the agent has been stopped" },
      });
      return;
    }
    const parsed = SdkRequest.safeParse(value);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      const message = `invalid request: ${i.path.join(".") || "request"}: ${i.message}`;
      this.opts.governor.record(this.opts.agent, {
        path: "sdk",
        action: "sdk.invalid",
        resource: String((value as { op?: unknown })?.op ?? "?"),
      }, {
        effect: "deny",
        rule: null,
        reason: message,
      });
      this.#reply({ id, ok: false, error: { code: "invalid", message } });
      if (++this.#malformed > this.#limits.maxMalformed) {
        this.#violation("too many invalid SDK requests");
      }
      return;
    }
    const req = parsed.data;
    if (this.#inFlight >= this.#limits.maxInFlight || !this.#takeToken()) {
      this.#reply({
        id: req.id,
        ok: false,
        error: { code: "busy", message: "too many SDK requests; slow down" },
      });
      return;
    }
    this.#inFlight++;
    this.handled++;
    this.#handle(req)
      .then((result) => this.#reply({ id: req.id, ok: true, result: result ?? null }))
      .catch((e) => {
        const r = e instanceof RefusalError || e instanceof ToolRefusal ? e : new RefusalError(
          this.#abort.signal.aborted
            ? "killed"
            : e instanceof DOMException && e.name === "TimeoutError"
            ? "timeout"
            : "failed",
          e instanceof Error ? e.message : String(e),
        );
        this.#reply({
          id: req.id,
          ok: false,
          error: { code: r.code, message: r.message, rule: r.rule, ruleReason: r.ruleReason },
        });
      })
      .finally(() => this.#inFlight--);
  }

  /** Decide; throw a RefusalError unless allowed (or approved). */
  async #decide(ask: Ask, extra?: Record<string, unknown>): Promise<void> {
    const { governor, agent, approvals } = this.opts;
    const { refused } = await governor.authorize(agent, ask, { approvals, extra });
    if (refused) {
      throw new RefusalError(
        refused.code,
        refusalMessage(refused),
        refused.rule,
        refused.ruleReason,
      );
    }
  }

  async #handle(req: SdkRequest): Promise<unknown> {
    const { agent } = this.opts;
    const signal = this.#abort.signal;
    switch (req.op) {
      case "tool.call":
        return await this.#runner.call({
          agent,
          tool: req.name,
          args: req.args,
          path: "sdk",
          signal,
        });
      case "tool.authorize": {
        // A tool that runs inside the agent's own (sandboxed) process: decided and audited
        // with its full arguments like a host tool; nothing is executed here.
        await this.#decide({
          path: "sdk",
          action: "tool.call",
          resource: req.name,
          args: req.args,
          context: { execution: "worker" },
        }, { execution: "worker" });
        return null;
      }
      case "fs.readText": {
        const real = resolveInWorkspace(agent.workspace, req.path);
        await this.#decide({ path: "sdk", action: "fs.read", resource: real });
        return await readText(agent.workspace, real);
      }
      case "fs.writeText": {
        const real = resolveInWorkspace(agent.workspace, req.path);
        await this.#decide({
          path: "sdk",
          action: "fs.write",
          resource: real,
          args: { bytes: req.text.length },
        });
        await writeText(agent.workspace, real, req.text);
        return null;
      }
      case "http.fetch": {
        await this.#decide({
          path: "sdk",
          action: "net.fetch",
          resource: req.url,
          args: {
            method: req.method,
            headers: Object.keys(req.headers),
            bodyBytes: req.body?.length ?? 0,
          },
        });
        return await withDeadline(signal, 30000, (both) => httpFetch(req.url, req, both));
      }
      case "env.get": {
        await this.#decide({ path: "sdk", action: "env.get", resource: req.name });
        return Object.hasOwn(this.opts.env, req.name) ? this.opts.env[req.name] : null;
      }
      case "emit": {
        const size = JSON.stringify(req.output ?? null).length;
        await this.#decide({
          path: "sdk",
          action: "output.emit",
          resource: "output",
          args: { bytes: size },
        });
        this.opts.onEvent?.({ type: "output", agent: agent.name, output: req.output });
        return null;
      }
      case "log": {
        await this.#decide({
          path: "sdk",
          action: "output.emit",
          resource: "log",
          args: { level: req.level },
        });
        this.opts.onEvent?.({
          type: "log",
          agent: agent.name,
          level: req.level,
          message: req.message,
        });
        return null;
      }
      case "identity":
        return { did: agent.id, name: agent.name, ring: agent.ring };
      case "plugin.next": {
        // The plugin protocol is the host's own; ordinary agents cannot use it.
        if (!this.opts.plugin) throw new RefusalError("invalid", "not a plugin process");
        return await this.opts.plugin.take(req.timeoutMs, signal);
      }
      case "plugin.result": {
        if (!this.opts.plugin) throw new RefusalError("invalid", "not a plugin process");
        this.opts.plugin.settle(req.callId, req.ok, req.ok ? req.result : req.error);
        return null;
      }
      case "rl.reset": {
        if (!this.opts.environment) {
          throw new RefusalError("invalid", "no RL environment for this agent");
        }
        return this.opts.environment.reset();
      }
      case "rl.step": {
        if (!this.opts.environment) {
          throw new RefusalError("invalid", "no RL environment for this agent");
        }
        try {
          return this.opts.environment.step(agent, req.action);
        } catch (e) {
          throw new RefusalError("invalid", (e as Error).message);
        }
      }
      case "saga.run": {
        const def = SagaDefinition.safeParse(req.definition);
        if (!def.success) {
          const i = def.error.issues[0];
          throw new RefusalError(
            "invalid",
            `invalid saga: ${i.path.join(".") || "definition"}: ${i.message}`,
          );
        }
        await this.#decide({
          path: "sdk",
          action: "saga.run",
          resource: def.data.name,
          args: { steps: def.data.steps.map((st) => st.action.tool) },
        });
        if (!this.opts.sagas) throw new RefusalError("failed", "this host does not run sagas");
        const s = await this.opts.sagas.run(agent, def.data);
        return {
          id: s.id,
          status: s.status,
          reason: s.reason ?? null,
          steps: s.steps.map((st, i) => ({
            name: def.data.steps[i].name,
            status: st.status,
            result: st.result ?? null,
          })),
        };
      }
      case "messages.send": {
        const m = this.opts.messages;
        const size = canonicalJson(req.payload ?? null).length;
        if (size > MAX_PAYLOAD) {
          throw new RefusalError("invalid", `payload larger than ${MAX_PAYLOAD} characters`);
        }
        await this.#decide({
          path: "sdk",
          action: "message.send",
          resource: req.to,
          args: { bytes: size },
        });
        if (!m) throw new RefusalError("failed", "this host does not route messages");
        await m.router.send(m.signer, req.to, req.payload ?? null);
        return null;
      }
      case "messages.receive": {
        const m = this.opts.messages;
        await this.#decide({ path: "sdk", action: "message.receive", resource: "inbox" });
        if (!m) return null;
        return await m.router.receive(agent.id, req.timeoutMs, signal);
      }
    }
  }

  #reply(r: SdkResponse): void {
    const conn = this.#conn;
    if (!conn) return;
    let bytes = encodeFrame(r);
    if (bytes.length > MAX_RESPONSE_BYTES + 4) {
      bytes = encodeFrame({
        id: r.id,
        ok: false,
        error: { code: "failed", message: "result too large" },
      });
    }
    this.#writeChain = this.#writeChain.then(async () => {
      let off = 0;
      try {
        while (off < bytes.length) off += await conn.write(bytes.subarray(off));
      } catch { /* agent gone */ }
    });
  }

  #violation(why: string): void {
    this.opts.onViolation?.(why);
    this.close();
  }

  /** Stop serving: in-flight operations are cancelled; later requests are refused. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new DOMException("the agent was stopped", "AbortError"));
    try {
      this.#listener.close();
    } catch { /* closed */ }
    try {
      this.#conn?.close();
    } catch { /* closed */ }
    try {
      Deno.removeSync(this.opts.path);
    } catch { /* gone */ }
  }
}
