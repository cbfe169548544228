/** The handle of a running agent (`AgentHost.start`): its identity, process, exit and restart. */
import type { AgentRef } from "../governor.ts";
import type { AgentExit } from "./types.ts";
import type { AgentHost } from "../host.ts";

/** A running agent. */
export class AgentHandle {
  /** Resolves when the process has exited and the host has cleaned up. */
  readonly exited: Promise<AgentExit>;
  killReason: string | null = null;
  /** When the host restarted this agent (a ring change), the handle of the new process. */
  replacedBy: AgentHandle | null = null;
  /** Resolves after exit: the restarted agent's handle, or null when it was not restarted. */
  readonly next: Promise<AgentHandle | null>;
  #resolveNext!: (h: AgentHandle | null) => void;
  #resolveExit!: (e: AgentExit) => void;

  constructor(
    readonly ref: AgentRef,
    readonly process: Deno.ChildProcess,
    readonly host: AgentHost,
  ) {
    this.exited = new Promise((r) => (this.#resolveExit = r));
    this.next = new Promise((r) => (this.#resolveNext = r));
  }

  get id(): string {
    return this.ref.id;
  }
  get name(): string {
    return this.ref.name;
  }
  get pid(): number {
    return this.process.pid;
  }
  /** SHA-256 digest of the agent's own code, its module graph (see supervisor/graph.ts). */
  get codeDigest(): string | undefined {
    return this.ref.codeDigest;
  }

  /** Kill the agent (SIGKILL of its process group); resolves when it is gone. */
  kill(reason: string): Promise<AgentExit> {
    return this.host.kill(this.id, reason);
  }

  /** @internal */
  _exit(e: AgentExit, restarting: boolean): void {
    this.#resolveExit(e);
    if (!restarting) this.#resolveNext(null);
  }

  /** @internal */
  _next(h: AgentHandle | null): void {
    this.replacedBy = h;
    this.#resolveNext(h);
  }
}
