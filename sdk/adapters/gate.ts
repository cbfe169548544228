/**
 * The framework-free core of the adapters: every call of a wrapped framework tool is decided by
 * the Warden host before anything runs.
 *
 * - `"worker"` (default): the host decides and audits `tool.call` with the full arguments
 *   (`tools.authorize`), then the framework tool's own implementation runs here, in the agent's
 *   sandboxed process, where its raw file, network and process operations still go through the
 *   permission broker.
 * - `"host"`: the host-registered tool of that name runs host-side (`tools.call`); the local
 *   implementation is never used.
 *
 * Fail closed: when the decision fails for any reason (denied, approval pending, no host, a
 * broken channel), the local implementation does not run and a {@link WardenToolError} carries
 * one model-readable line.
 * @module
 */
import { type ErrorCode, tools } from "../mod.ts";
import { ERROR_CODES } from "../replies.ts";
import { type Refusal, refusalLine } from "./refusal.ts";

export type { Refusal };

/** Where a wrapped tool runs. */
export type ExecutionMode = "worker" | "host";

/** How one framework tool is governed. */
export interface GateOptions {
  /** `"worker"` (default): decided by the host, run here. `"host"`: run by the host. */
  mode?: ExecutionMode;
  /** The Warden tool name the policy sees (default: the framework tool's name). */
  name?: string;
}

/** How a set of framework tools is governed: a default mode and per-tool overrides. */
export interface GateSetOptions {
  /** Default mode for every tool of the set (`"worker"` unless given). */
  mode?: ExecutionMode;
  /** Overrides keyed by the framework tool's name. */
  tools?: Record<string, GateOptions>;
}

/** The options that apply to the framework tool `toolName` of a set. */
export function optionsFor(toolName: string, set: GateSetOptions = {}): GateOptions {
  const own = set.tools && Object.hasOwn(set.tools, toolName) ? set.tools[toolName] : undefined;
  return { mode: own?.mode ?? set.mode, name: own?.name };
}

/**
 * A Warden refusal of a tool call, thrown where the framework expects a tool's error. Its
 * message (and `toString()`, which some frameworks show the model) is one readable line.
 */
export class WardenToolError extends Error {
  /** The Warden tool name that was refused. */
  readonly tool: string;
  readonly code: ErrorCode;
  readonly rule: string | null;
  /** The deciding rule's own reason, or null. */
  readonly ruleReason: string | null;
  /** The host's own reason, without the adapter's wording. */
  readonly reason: string;
  constructor(tool: string, refusal: Refusal) {
    super(describeRefusal(tool, refusal));
    this.name = "WardenToolError";
    this.tool = tool;
    this.code = refusal.code;
    this.rule = refusal.rule;
    this.ruleReason = refusal.ruleReason;
    this.reason = refusal.message;
  }
  override toString(): string {
    return this.message;
  }
}

/**
 * Is `e` a WardenError? Checked by shape, not `instanceof`: a bundled agent carries its own
 * copy of the SDK, while the errors come from the copy the bootstrap attached the channel with.
 */
export function isWardenError(e: unknown): e is Error & Refusal {
  if (!(e instanceof Error) || e.name !== "WardenError") return false;
  const { code, rule, ruleReason } = e as Error & Partial<Refusal>;
  const nullableText = (v: unknown) => v === null || v === undefined || typeof v === "string";
  return (ERROR_CODES as readonly unknown[]).includes(code) && nullableText(rule) &&
    nullableText(ruleReason);
}

/** One line for the model: what Warden did with the call of `tool`, and why. */
export function describeRefusal(tool: string, r: Refusal): string {
  return refusalLine(`tool ${JSON.stringify(tool)}`, r);
}

/** The refusal an error stands for: a WardenError as it is, anything else as a failure. */
function toRefusal(e: unknown): Refusal {
  if (isWardenError(e)) {
    return {
      code: e.code,
      message: e.message,
      rule: e.rule ?? null,
      ruleReason: e.ruleReason ?? null,
    };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { code: "failed", message, rule: null, ruleReason: null };
}

/** Tool arguments as the policy sees them: an object as it is, anything else as `{ input }`. */
export function toolArgs(input: unknown): Record<string, unknown> {
  if (input !== null && typeof input === "object" && !Array.isArray(input)) {
    return input as Record<string, unknown>;
  }
  return input === undefined ? {} : { input };
}

/** The Warden side of one framework tool. */
export interface ToolGate {
  /** The Warden tool name. */
  readonly name: string;
  readonly mode: ExecutionMode;
  /**
   * Decide the call; resolves when the host allows it. Throws a WardenToolError otherwise, and
   * for any failure of the decision itself (fail closed).
   */
  authorize(input: unknown): Promise<void>;
  /** Run the host-registered tool (host mode). Throws a WardenToolError when refused. */
  callHost(input: unknown): Promise<unknown>;
  /**
   * Worker mode: authorize, then run `local` (its own errors pass through unchanged). Host
   * mode: the host-registered tool runs and `local` is never called.
   */
  run<T>(input: unknown, local: () => T | Promise<T>): Promise<T | unknown>;
}

/** The gate for the framework tool `frameworkName`. */
export function toolGate(frameworkName: string, opts: GateOptions = {}): ToolGate {
  const name = opts.name ?? frameworkName;
  const mode = opts.mode ?? "worker";
  if (mode !== "worker" && mode !== "host") {
    throw new TypeError(`tool ${JSON.stringify(name)}: unknown execution mode ${String(mode)}`);
  }
  const gate: ToolGate = {
    name,
    mode,
    async authorize(input) {
      try {
        await tools.authorize(name, toolArgs(input));
      } catch (e) {
        throw new WardenToolError(name, toRefusal(e));
      }
    },
    async callHost(input) {
      try {
        return await tools.call(name, toolArgs(input));
      } catch (e) {
        throw new WardenToolError(name, toRefusal(e));
      }
    },
    async run(input, local) {
      if (mode === "host") return await gate.callHost(input);
      await gate.authorize(input);
      return await local();
    },
  };
  return gate;
}
