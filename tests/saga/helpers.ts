/** Shared fixtures for saga tests: an agent, a governor over an inline policy, fake tools. */
import { compilePolicy } from "../../governance/mod.ts";
import type { SagaDefinition } from "../../governance/saga/mod.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { type AgentRef, Governor } from "../../runtime/governor.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import type { SagaExecute } from "../../runtime/saga/orchestrator.ts";
import { SagaStepError } from "../../runtime/saga/timing.ts";

export { assertEquals } from "../policy/asserts.ts";

/** The agent sagas run for. */
export const AGENT: AgentRef = {
  id: "did:key:z6MkSagaTest",
  name: "saga-agent",
  ring: 2,
  trust: 600,
  labels: {},
  workspace: "/tmp/saga-ws",
  code: "/tmp/saga-code",
  sdk: "/tmp/saga-sdk",
};

const HEAD = "apiVersion: warden/v1\nkind: Policy\nname: saga-test\ndefault: deny\nrules:\n";

/** A governor with an in-memory audit log; allows every tool call plus `extraRules`. */
export function makeGovernor(extraRules = ""): Governor {
  const policy = compilePolicy(
    HEAD + "  - { id: tools, effect: allow, action: tool.call }\n" + extraRules,
  );
  return new Governor(policy, loadRings(), new AuditLog());
}

/** One call a fake tool received. */
export interface Call {
  tool: string;
  key: string;
  args: Record<string, unknown>;
}

/** A fake tool: its arguments, the call's key and signal, and how many times it was called. */
export type Handler = (
  args: Record<string, unknown>,
  ctx: { key: string; signal: AbortSignal; n: number },
) => unknown;

/** Fake tools that record every call; unknown tools succeed with null. */
export class FakeTools {
  readonly calls: Call[] = [];
  readonly handlers: Record<string, Handler> = {};

  constructor(handlers: Record<string, Handler> = {}) {
    Object.assign(this.handlers, handlers);
  }

  execute: SagaExecute = async (_agent, tool, args, key, signal) => {
    this.calls.push({ tool, key, args });
    const n = this.calls.filter((c) => c.key === key).length;
    return await (this.handlers[tool]?.(args, { key, signal, n }) ?? null);
  };

  /** `tool key` strings in call order. */
  trace(): string[] {
    return this.calls.map((c) => `${c.tool} ${c.key}`);
  }
}

/** A tool that fails with `code`. */
export function failing(code: string): Handler {
  return () => {
    throw new SagaStepError(code, `${code} failure`);
  };
}

/** A tool that waits for its signal, then rejects with the signal's reason. */
export const waitForAbort: Handler = (_args, { signal }) =>
  new Promise((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });

/** A saga of `names.length` steps: action `<name>`, compensation `undo-<name>`. */
export function saga(
  names: string[],
  step: Partial<SagaDefinition["steps"][number]> = {},
  extra: Partial<SagaDefinition> = {},
): SagaDefinition {
  return {
    name: "test-saga",
    steps: names.map((n) => ({
      name: n,
      action: { tool: n, args: { item: n } },
      compensation: { tool: `undo-${n}`, args: { item: n } },
      ...step,
    })),
    ...extra,
  };
}
