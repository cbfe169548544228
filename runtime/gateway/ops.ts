/**
 * The SDK ops as a table: for each op, `ask` validates the request and says what the governor
 * must allow (null when the op decides for itself, like `tool.call` through the tool runner, or
 * needs no decision), and `run` performs it once allowed. `runOp` is the one path: ask,
 * authorize (a refusal is thrown as a RefusalError), run. No socket here: the table is driven
 * directly by tests/host/gateway_ops_test.ts.
 */
import type { ErrorCode, Refusal, SdkOp, SdkRequest } from "../../sdk/wire_schema.ts";
import { readText, resolveInWorkspace, writeText } from "../executors/fs.ts";
import { httpFetch } from "../executors/http.ts";
import { ToolRefusal, type ToolRunner, withDeadline } from "../executors/runner.ts";
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
import type { MemoryService } from "../memory/service.ts";
import { guardOutput } from "../outputs/guard.ts";
import { guardRequest } from "../outputs/http.ts";
import type { OutputChannel } from "../../governance/outputs/mod.ts";

/** Something the agent produced through the SDK. */
export type GatewayEvent =
  | { type: "output"; agent: string; output: unknown }
  | { type: "log"; agent: string; level: string; message: string };

/** What the ops run with: the agent, its governor and the host services it may use. */
export interface OpContext {
  agent: AgentRef;
  governor: Governor;
  env: Record<string, string>;
  /** Runs `tool.call` (validate, breaker, authorize, chaos, deadline, run, SLO). */
  runner: ToolRunner;
  /** Aborted when the agent is stopped. */
  signal: AbortSignal;
  approvals?: ApprovalHandler;
  onEvent?: (e: GatewayEvent) => void;
  messages?: { router: MessageRouter; signer: Signer };
  sagas?: SagaOrchestrator;
  plugin?: PluginChannel;
  environment?: GovernedEnv<unknown>;
  /** Agent memory (each op decides for itself: runtime/memory/service.ts). */
  memory?: MemoryService;
}

/** A refusal made here or by the governor, thrown until it is answered as the wire's Refusal. */
export class RefusalError extends Error implements Refusal {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly rule: string | null = null,
    readonly ruleReason: string | null = null,
  ) {
    super(message);
  }
}

type Req<O extends SdkOp> = Extract<SdkRequest, { op: O }>;

/** The policy's output rules on `value` (runtime/outputs): what may go on, or a refusal. */
function passed(
  ctx: OpContext,
  channel: OutputChannel,
  resource: string,
  value: unknown,
  kind?: string,
): unknown {
  const path = channel === "tool.result" ? "host" : "sdk";
  const g = guardOutput({ ...ctx, subject: ctx.agent, path, channel, resource, kind }, value);
  if (!g.ok) throw new RefusalError("denied", `output rules: ${g.reason}`, g.rule);
  return g.value;
}

/** One op: what to decide, and what to do once allowed. */
export interface SdkOpEntry<O extends SdkOp> {
  /** Validate (throwing a RefusalError) and say what must be allowed; null: nothing to decide. */
  ask(req: Req<O>, ctx: OpContext): Ask | null;
  /** Extra audit fields of the decision. */
  extra?: Record<string, unknown>;
  /** Perform the op; `ask` is the request that was allowed. */
  run(req: Req<O>, ctx: OpContext, ask: Ask | null): Promise<unknown> | unknown;
}

/** Every SDK op (the keys are exactly `sdk/wire_schema.ts`'s SdkResults). */
export type SdkOpTable = { [O in SdkOp]: SdkOpEntry<O> };

const noAsk = (): null => null;

function plugin(ctx: OpContext): PluginChannel {
  // The plugin protocol is the host's own; ordinary agents cannot use it.
  if (!ctx.plugin) throw new RefusalError("invalid", "not a plugin process");
  return ctx.plugin;
}

function environment(ctx: OpContext): GovernedEnv<unknown> {
  if (!ctx.environment) throw new RefusalError("invalid", "no RL environment for this agent");
  return ctx.environment;
}

function memory(ctx: OpContext): MemoryService {
  if (!ctx.memory) throw new RefusalError("failed", "this host keeps no agent memory");
  return ctx.memory;
}

function saga(req: Req<"saga.run">): SagaDefinition {
  const def = SagaDefinition.safeParse(req.definition);
  if (!def.success) {
    const i = def.error.issues[0];
    throw new RefusalError(
      "invalid",
      `invalid saga: ${i.path.join(".") || "definition"}: ${i.message}`,
    );
  }
  return def.data;
}

/**
 * What a fetch must be allowed as: `net.fetch` of the full URL with its method, header names
 * and body size. The one shape for the SDK's `http.fetch` and the egress proxy (runtime/egress).
 */
export function fetchAsk(
  path: Ask["path"],
  url: string,
  method: string,
  headers: string[],
  bodyBytes = 0,
): Ask {
  return { path, action: "net.fetch", resource: url, args: { method, headers, bodyBytes } };
}

export const SDK_OPS: SdkOpTable = {
  "tool.call": {
    ask: noAsk,
    run: async (req, ctx) =>
      passed(
        ctx,
        "tool.result",
        req.name,
        await ctx.runner.call({
          agent: ctx.agent,
          tool: req.name,
          args: req.args,
          path: "sdk",
          signal: ctx.signal,
        }),
        req.name,
      ),
  },
  "tool.authorize": {
    // A tool that runs inside the agent's own (sandboxed) process: decided and audited with
    // its full arguments like a host tool; nothing is executed here.
    ask: (req) => ({
      path: "sdk",
      action: "tool.call",
      resource: req.name,
      args: req.args,
      context: { execution: "worker" },
    }),
    extra: { execution: "worker" },
    run: () => null,
  },
  "fs.readText": {
    ask: (req, ctx) => ({
      path: "sdk",
      action: "fs.read",
      resource: resolveInWorkspace(ctx.agent.workspace, req.path),
    }),
    run: (_req, ctx, ask) => readText(ctx.agent.workspace, ask!.resource),
  },
  "fs.writeText": {
    ask: (req, ctx) => ({
      path: "sdk",
      action: "fs.write",
      resource: resolveInWorkspace(ctx.agent.workspace, req.path),
      args: { bytes: req.text.length },
    }),
    run: async (req, ctx, ask) => {
      await writeText(ctx.agent.workspace, ask!.resource, req.text);
      return null;
    },
  },
  "http.fetch": {
    ask: (req) => fetchAsk("sdk", req.url, req.method, Object.keys(req.headers), req.body?.length),
    run: async (req, ctx) => {
      // Exfiltration through an allowed host: the URL, headers and body leave only as the
      // output rules allow (runtime/outputs/http.ts, the egress proxy's check too).
      const g = await guardRequest({ governor: ctx.governor, subject: ctx.agent, path: "sdk" }, {
        url: req.url,
        headers: Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]),
        body: req.body === undefined ? null : new TextEncoder().encode(req.body),
      });
      if (!g.ok) throw new RefusalError("denied", `output rules: ${g.reason}`, g.rule);
      const { url, headers, body } = g.request;
      // Sent as bytes: the type fetch gives a string body stays the default.
      if (body && !headers.some(([k]) => k === "content-type")) {
        headers.push(["content-type", "text/plain;charset=UTF-8"]);
      }
      const sent = { method: req.method, headers, ...(body ? { body: new Uint8Array(body) } : {}) };
      return withDeadline(ctx.signal, 30000, (both) => httpFetch(url, sent, both));
    },
  },
  "env.get": {
    ask: (req) => ({ path: "sdk", action: "env.get", resource: req.name }),
    run: (req, ctx) => Object.hasOwn(ctx.env, req.name) ? ctx.env[req.name] : null,
  },
  emit: {
    ask: (req) => ({
      path: "sdk",
      action: "output.emit",
      resource: "output",
      args: { bytes: JSON.stringify(req.output ?? null).length },
    }),
    run: (req, ctx) => {
      const output = passed(ctx, "emit", "output", req.output ?? null);
      ctx.onEvent?.({ type: "output", agent: ctx.agent.name, output });
      return null;
    },
  },
  log: {
    ask: (req) => ({
      path: "sdk",
      action: "output.emit",
      resource: "log",
      args: { level: req.level },
    }),
    run: (req, ctx) => {
      const message = passed(ctx, "log", "log", req.message) as string;
      ctx.onEvent?.({ type: "log", agent: ctx.agent.name, level: req.level, message });
      return null;
    },
  },
  identity: {
    ask: noAsk,
    run: (_req, { agent }) => ({ did: agent.id, name: agent.name, ring: agent.ring }),
  },
  "plugin.next": {
    ask: noAsk,
    run: (req, ctx) => plugin(ctx).take(req.timeoutMs, ctx.signal),
  },
  "plugin.result": {
    ask: noAsk,
    run: (req, ctx) => {
      plugin(ctx).settle(req.callId, req.ok, req.ok ? req.result : req.error);
      return null;
    },
  },
  "rl.reset": {
    ask: noAsk,
    run: (_req, ctx) => environment(ctx).reset(),
  },
  "rl.step": {
    ask: noAsk,
    run: (req, ctx) => {
      const env = environment(ctx);
      try {
        return env.step(ctx.agent, req.action);
      } catch (e) {
        throw new RefusalError("invalid", (e as Error).message);
      }
    },
  },
  "saga.run": {
    ask: (req) => {
      const def = saga(req);
      return {
        path: "sdk",
        action: "saga.run",
        resource: def.name,
        args: { steps: def.steps.map((st) => st.action.tool) },
      };
    },
    run: async (req, ctx) => {
      const def = saga(req);
      if (!ctx.sagas) throw new RefusalError("failed", "this host does not run sagas");
      const s = await ctx.sagas.run(ctx.agent, def);
      // The steps' tool results come back to the agent: the same rules as a tool.call's.
      return passed(ctx, "tool.result", `saga:${def.name}`, {
        id: s.id,
        status: s.status,
        reason: s.reason ?? null,
        steps: s.steps.map((st, i) => ({
          name: def.steps[i].name,
          status: st.status,
          result: st.result ?? null,
        })),
      });
    },
  },
  "messages.send": {
    ask: (req) => {
      const size = canonicalJson(req.payload ?? null).length;
      if (size > MAX_PAYLOAD) {
        throw new RefusalError("invalid", `payload larger than ${MAX_PAYLOAD} characters`);
      }
      return { path: "sdk", action: "message.send", resource: req.to, args: { bytes: size } };
    },
    run: async (req, ctx) => {
      const m = ctx.messages;
      if (!m) throw new RefusalError("failed", "this host does not route messages");
      await m.router.send(m.signer, req.to, req.payload ?? null);
      return null;
    },
  },
  "messages.receive": {
    ask: () => ({ path: "sdk", action: "message.receive", resource: "inbox" }),
    run: (req, ctx) =>
      ctx.messages ? ctx.messages.router.receive(ctx.agent.id, req.timeoutMs, ctx.signal) : null,
  },
  // Memory ops decide for themselves: a read is decided on the entry's provenance, and a
  // write's require_approval is quarantine (runtime/memory/service.ts).
  "memory.put": { ask: noAsk, run: (req, ctx) => memory(ctx).put(ctx.agent, req) },
  "memory.get": { ask: noAsk, run: (req, ctx) => memory(ctx).get(ctx.agent, req) },
  "memory.list": { ask: noAsk, run: (req, ctx) => memory(ctx).find(ctx.agent, req) },
  "memory.search": { ask: noAsk, run: (req, ctx) => memory(ctx).find(ctx.agent, req) },
  "memory.delete": { ask: noAsk, run: (req, ctx) => memory(ctx).delete(ctx.agent, req) },
};

/** Ask, authorize (throwing a RefusalError unless allowed or approved), run. */
export async function runOp(
  req: SdkRequest,
  ctx: OpContext,
  table: SdkOpTable = SDK_OPS,
): Promise<unknown> {
  const entry = table[req.op] as SdkOpEntry<SdkOp>;
  const ask = entry.ask(req as Req<SdkOp>, ctx);
  if (ask) {
    const { governor, agent, approvals } = ctx;
    const { refused } = await governor.authorize(agent, ask, { approvals, extra: entry.extra });
    if (refused) {
      throw new RefusalError(
        refused.code,
        refusalMessage(refused),
        refused.rule,
        refused.ruleReason,
      );
    }
  }
  return await entry.run(req as Req<SdkOp>, ctx, ask);
}

/** The wire's Refusal for whatever an op threw (`killed` once `signal` is aborted). */
export function toRefusal(e: unknown, signal: AbortSignal): Refusal {
  const r = e instanceof RefusalError || e instanceof ToolRefusal ? e : new RefusalError(
    signal.aborted
      ? "killed"
      : e instanceof DOMException && e.name === "TimeoutError"
      ? "timeout"
      : "failed",
    e instanceof Error ? e.message : String(e),
  );
  return { code: r.code, message: r.message, rule: r.rule, ruleReason: r.ruleReason };
}
