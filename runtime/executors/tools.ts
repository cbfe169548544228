/** The host-side tool registry: each tool has a zod schema for its arguments. */
import type { z } from "zod";

/** What a tool's implementation receives besides its arguments. */
export interface ToolContext {
  agentId: string;
  agentName: string;
  workspace: string;
  /** Aborted when the agent is killed or the call times out. */
  signal: AbortSignal;
  /** Idempotency key, when the caller gave one (sagas). */
  idempotencyKey?: string;
}

/** A registered tool. */
export interface Tool<S extends z.ZodType = z.ZodType> {
  description: string;
  schema: S;
  run(args: z.infer<S>, ctx: ToolContext): Promise<unknown> | unknown;
  /** Per-call timeout (default 30 s). */
  timeoutMs?: number;
}

export class ToolRegistry {
  #tools = new Map<string, Tool>();

  register<S extends z.ZodType>(name: string, tool: Tool<S>): this {
    if (this.#tools.has(name)) throw new Error(`tool "${name}" is already registered`);
    this.#tools.set(name, tool as unknown as Tool);
    return this;
  }

  get(name: string): Tool | undefined {
    return this.#tools.get(name);
  }

  names(): string[] {
    return [...this.#tools.keys()].sort();
  }

  /** Validate arguments: the parsed value, or a readable error. */
  validate(
    name: string,
    args: unknown,
  ): { ok: true; args: Record<string, unknown> } | { ok: false; error: string } {
    const tool = this.#tools.get(name);
    if (!tool) return { ok: false, error: `unknown tool "${name}"` };
    const r = tool.schema.safeParse(args);
    if (!r.success) {
      const i = r.error.issues[0];
      return {
        ok: false,
        error: `invalid arguments for tool "${name}": ${i.path.join(".") || "args"}: ${i.message}`,
      };
    }
    return { ok: true, args: r.data as Record<string, unknown> };
  }
}
