/**
 * Memory test setup: a governor over a memory policy and the shipped ring ceilings, an audit
 * log whose entries the test reads, a MemoryService over a temp state dir, agents at any trust,
 * and `op(agent, request)`, which drives the SDK op table (validation of the wire schema
 * included) exactly as the gateway does, minus the socket.
 */
import type { AuditEntry } from "../../governance/audit/mod.ts";
import { compilePolicy } from "../../governance/mod.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { ToolRunner } from "../../runtime/executors/runner.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { type OpContext, runOp } from "../../runtime/gateway/ops.ts";
import { type AgentRef, Governor } from "../../runtime/governor.ts";
import { type MemoryOptions, MemoryService } from "../../runtime/memory/service.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { SdkRequest } from "../../sdk/wire_schema.ts";

/**
 * The memory policy of the tests and the example: an agent's own namespace, the shared
 * namespace team-a (read and write), writes from agents below trust 300 refused, writes below
 * trust 700 or from a URL quarantined, and reads of entries written below trust 400 refused.
 */
export const MEMORY_POLICY = `apiVersion: warden/v1
kind: Policy
name: memory-test
default: deny
rules:
  - id: own-memory
    effect: allow
    action: [memory.read, memory.write, memory.delete]
    when: { resource: { prefix: "\${agent.id}/" } }
  - id: team-a
    effect: allow
    action: [memory.read, memory.write]
    when: { resource: { prefix: "team-a/" } }
  - id: refuse-untrusted-writers
    effect: deny
    action: memory.write
    reason: writers below trust 300 may not write memory
    when: { args.provenance.trust: { lt: 300 } }
  - id: quarantine-low-trust
    effect: require_approval
    action: memory.write
    when: { args.provenance.trust: { lt: 700 } }
  - id: quarantine-web
    effect: require_approval
    action: memory.write
    when: { args.source.kind: { eq: url } }
  - id: no-reads-of-low-trust
    effect: deny
    action: memory.read
    when:
      all:
        - args.provenance: { exists: true }
        - args.provenance.trust: { lt: 400 }
`;

let n = 0;
/** An agent with a did of its own. */
export function agent(name: string, trust: number, ring = 2): AgentRef {
  const id = `did:key:z6Mk${name.padEnd(44, "x").slice(0, 44)}${++n}`;
  return { id, name, ring, trust, labels: {}, workspace: "/ws", code: "/ws", sdk: "/ws" };
}

export interface MemCtx {
  governor: Governor;
  memory: MemoryService;
  audit: AuditEntry[];
  dir: string;
  /** Send one SDK request (parsed by the wire schema first, as the gateway does). */
  op(a: AgentRef, req: Record<string, unknown>): Promise<unknown>;
  /** The refusal code of a request (null: it succeeded). */
  refusal(a: AgentRef, req: Record<string, unknown>): Promise<string | null>;
  close(): Promise<void>;
}

export async function memCtx(o: MemoryOptions = {}, policy = MEMORY_POLICY): Promise<MemCtx> {
  const dir = await Deno.makeTempDir({ prefix: "warden-mem-" });
  const log = new AuditLog();
  const audit: AuditEntry[] = [];
  log.subscribe((e) => audit.push(e));
  const governor = new Governor(compilePolicy(policy), loadRings(), log);
  const memory = new MemoryService(governor, dir, o);
  const abort = new AbortController();
  const ctx = (a: AgentRef): OpContext => ({
    agent: a,
    governor,
    env: {},
    runner: new ToolRunner({ governor, tools: new ToolRegistry(), approvals: () => undefined }),
    signal: abort.signal,
    memory,
  });
  let id = 0;
  const op = async (a: AgentRef, req: Record<string, unknown>) => {
    const parsed = SdkRequest.safeParse({ id: ++id, ...req });
    if (!parsed.success) throw Object.assign(new Error("invalid frame"), { code: "invalid" });
    return await runOp(parsed.data, ctx(a));
  };
  return {
    governor,
    memory,
    audit,
    dir,
    op,
    refusal: async (a, req) => {
      try {
        await op(a, req);
        return null;
      } catch (e) {
        return (e as { code?: string }).code ?? "thrown";
      }
    },
    close: async () => {
      abort.abort();
      memory.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
