/**
 * The Warden SDK for agents. Every call is decided by the host's policy engine with its full
 * parameters, performed by the host, and audited; a refusal throws a WardenError with a code
 * (`denied`, `approval_required`, …), the deciding rule and the reason.
 * @module
 */
import { call, WardenError } from "./channel.ts";
import type { HttpResult, Message, RlStep, SagaOutcome } from "./types.ts";

export { WardenError };
export * from "./memory.ts";
export type { ErrorCode, HttpResult, Message, Refusal, RlStep, SagaOutcome } from "./types.ts";

/** Host-side tools. */
export const tools = {
  /** Call a registered tool; arguments are validated by the tool's schema, then decided. */
  call(name: string, args: Record<string, unknown> = {}): Promise<unknown> {
    return call("tool.call", { name, args });
  },
  /**
   * Ask the host to decide a call of a tool that runs here, in this worker process (framework
   * tools wrapped by `sdk/adapters/`). The host decides `tool.call` with the full arguments and
   * audits it; a refusal throws a WardenError. What the tool then does is still governed: every
   * file, network or process operation of this process goes through the permission broker.
   */
  async authorize(name: string, args: Record<string, unknown> = {}): Promise<void> {
    await call("tool.authorize", { name, args });
  },
};

/** Files inside the agent's workspace, read and written by the host. */
export const fs = {
  async readText(path: string): Promise<string> {
    return await call("fs.readText", { path });
  },
  async writeText(path: string, text: string): Promise<void> {
    await call("fs.writeText", { path, text });
  },
};

/** A response from `http.fetch`. */
export interface HttpResponse extends HttpResult {
  text(): string;
  json(): unknown;
}

/** HTTP performed by the host, decided on the whole URL and method. Redirects are not followed. */
export const http = {
  async fetch(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<HttpResponse> {
    const r = await call("http.fetch", {
      url,
      method: (init.method ?? "GET").toUpperCase(),
      headers: init.headers ?? {},
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    return { ...r, text: () => r.body, json: () => JSON.parse(r.body) };
  },
};

/** Environment values the host allows this agent to see (never the host's own environment). */
export const env = {
  async get(name: string): Promise<string | null> {
    return await call("env.get", { name });
  },
};

/** Emit a result of the agent's work to the host. */
export async function emit(output: unknown): Promise<void> {
  await call("emit", { output });
}

/** Log through the host (stdout stays the agent's own). */
export async function log(message: string, level: "debug" | "info" | "warn" | "error" = "info") {
  await call("log", { message, level });
}

/** Signed agent-to-agent messages: the host signs for the agent and verifies what arrives. */
export const messages = {
  /** Send `payload` (JSON) to the agent with did:key `to`, on this host or a peer host. */
  async send(to: string, payload: unknown): Promise<void> {
    await call("messages.send", { to, payload });
  },
  /** The next message, waiting up to `timeoutMs` (0: don't wait); null when none arrived. */
  async receive(timeoutMs = 0): Promise<Message | null> {
    return await call("messages.receive", { timeoutMs });
  },
};

/** This agent's identity as the host knows it. */
export async function identity(): Promise<{ did: string; name: string; ring: number }> {
  return await call("identity", {});
}

/** One step of a saga: an action and the compensation that undoes it (both tool calls). */
export interface SagaStepSpec {
  name: string;
  action: { tool: string; args?: Record<string, unknown> };
  compensation: { tool: string; args?: Record<string, unknown> };
  retry?: { attempts: number; baseMs: number; maxMs: number; nonRetryable?: string[] };
  timeoutMs?: number;
}

/** Sagas run by the host: all steps, or the completed ones compensated in reverse order. */
export const sagas = {
  async run(
    definition: { name: string; steps: SagaStepSpec[]; timeoutMs?: number },
  ): Promise<SagaOutcome> {
    return await call("saga.run", { definition });
  },
};

/** Gym-style governed environment: every action is decided by the host's policy. */
export const rl = {
  async reset(): Promise<{ state: unknown; actions: string[] }> {
    return await call("rl.reset", {});
  },
  async step(action: string): Promise<RlStep> {
    return await call("rl.step", { action });
  },
};
