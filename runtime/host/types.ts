/**
 * The host's public shapes: how to run an agent (`AgentSpec`), how to build a host
 * (`HostOptions`), what it reports (`HostEvent`) and how an agent ended (`AgentExit`).
 * `runtime/host.ts` re-exports them all.
 */
import type { CompiledPolicy } from "../../governance/mod.ts";
import type { Signer } from "../../governance/identity/mod.ts";
import type {
  BudgetOverrides,
  Capabilities,
  Ring,
  RingCeilings,
} from "../../governance/rings/mod.ts";
import type { AuditLog } from "../audit/log.ts";
import type { ApprovalHandler, GatewayEvent, GatewayLimits } from "../gateway/gateway.ts";
import type { ToolRegistry } from "../executors/tools.ts";
import type { Keystore } from "../identity/keystore.ts";
import type { MemoryOptions } from "../memory/service.ts";
import type { GovernedEnv } from "../rl/env.ts";
import type { SagaJournal } from "../saga/journal.ts";
import type { SreOptions } from "../sre/service.ts";
import type { TrustService } from "../trust/service.ts";

/** How to run one agent. */
export interface AgentSpec {
  /** Path of the agent's entry module. */
  module: string;
  name?: string;
  ring?: Ring;
  /** Working directory and the only place it may read and write (created when missing). */
  workspace?: string;
  /** Values the agent may read with `env.get` (never the host's environment). */
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** Wall-clock limit. */
  timeoutMs?: number;
  /** CPU-time budget (host watchdog; RLIMIT_CPU backs it up). */
  cpuMs?: number;
  /** Resident memory budget (the same as `budgets.memoryBytes`, which wins). */
  memoryBytes?: number;
  /**
   * Overrides of the ring's resource budgets (`policies/rings.yaml`): memory, disk, pids,
   * broker checks per second, denial flood. Finite positive values only: never unbounded.
   */
  budgets?: BudgetOverrides;
  /** V8 heap cap in MiB. */
  heapMb?: number;
  /** Where the agent's stdout and stderr go (default: piped to the handle). */
  stdio?: "piped" | "inherit" | "null";
  /** Declared capabilities: a second ceiling under the ring's (plugins declare theirs). */
  capabilities?: Capabilities;
  /** A governed RL environment the agent trains in (`rl.reset` / `rl.step` in the SDK). */
  environment?: GovernedEnv<unknown>;
  limits?: Partial<GatewayLimits>;
  /**
   * Bundle the module graph first (`deno bundle` with the nearest deno.json and its lockfile),
   * for agents that import npm packages: agent processes fetch and resolve nothing themselves.
   * Without it an `npm:<package>@<version>` module is installed in the package store and runs
   * from there (`HostOptions.storeDir`); an unversioned one takes deno.json's pin.
   */
  bundle?: boolean;
  /** Arguments the agent sees in `Deno.args` / `process.argv`. */
  args?: string[];
  /** The agent's stdin: "piped" gives the handle a writable stdin (MCP servers). */
  stdin?: "piped" | "null";
  /**
   * Process environment for agents that read variables the Node way (MCP servers). Each read
   * is still an `env` check decided by the policy; loader and runtime variables are refused.
   */
  processEnv?: Record<string, string>;
  /**
   * A command agent: run this program and its arguments (`python3 agent.py`, any executable)
   * at the ring instead of a Deno module, under the kernel layers only (no broker, no SDK); it
   * reaches the host's tools over MCP (runtime/host/command_mcp.ts). `module` then names its
   * code for the audit log (its script, or the program).
   */
  command?: string[];
}

/** Something that happened in the host. */
export type HostEvent =
  | GatewayEvent
  | { type: "start"; agent: string; id: string; pid: number; ring: number }
  | { type: "restart"; agent: string; id: string; pid: number; ring: number; cause: RingCause }
  | { type: "alert"; slo: string; action: string; reason: string }
  | { type: "kill"; agent: string; reason: string; latencyMs?: number }
  | { type: "exit"; agent: string; code: number; signal: string | null; killed: string | null };

/** Who changed an agent's ring (`AgentHost.setRing`). */
export type RingCause = "trust" | "slo" | "operator";

/** How an agent ended. */
export interface AgentExit {
  code: number;
  signal: string | null;
  /** The kill reason when the host killed it. */
  killed: string | null;
}

export interface HostOptions {
  policy: CompiledPolicy;
  rings: RingCeilings;
  /** JSONL audit file; in memory only when omitted. */
  auditPath?: string;
  /** Host key: signs the audit log's checkpoints (no checkpoints without it). */
  signer?: Signer;
  /**
   * Where agents' Ed25519 keys live (one per agent name, created on first start, so an agent
   * keeps its did:key across runs). Without it each agent gets a fresh in-memory key. One live
   * agent per identity: a second start under a name whose key is in use is refused.
   */
  keystore?: Keystore;
  audit?: AuditLog;
  tools?: ToolRegistry;
  approvals?: ApprovalHandler;
  /**
   * Kill an agent after this many denials within the window, for every agent. Without it
   * (or null) each agent's ring budget `denialFlood` applies: there is always a flood limit.
   */
  killOnDenials?: { count: number; windowMs: number } | null;
  /**
   * Extra certificate authorities (PEM) the host trusts when its egress proxy makes an agent's
   * HTTPS request (besides the system roots): an operator's internal CA, a test server's.
   */
  egressCaCerts?: string[];
  /** Agent cgroups for the memory and pids budgets: "auto" (default) when the host can, "off". */
  cgroups?: "auto" | "off";
  /** Directory for sockets, caches and default workspaces (a temp dir by default). */
  stateDir?: string;
  /**
   * The package store: where `npm:` agents and MCP servers are installed, once per
   * name@version (runtime/supervisor/store.ts). Default `$WARDEN_HOME/store`.
   */
  storeDir?: string;
  /**
   * Where agents' Deno caches are kept, one per identity (default `$WARDEN_HOME/caches` with a
   * keystore, else the state directory).
   */
  cacheDir?: string;
  /**
   * Trust scores: events from decisions and kills move them; tiers demote rings. Every host
   * keeps them: in memory (a fresh `TrustService`) unless one is given.
   */
  trust?: TrustService;
  /** Where sagas are journaled (a file journal in the state directory by default). */
  sagaJournal?: SagaJournal;
  /** SLOs, circuit breakers and chaos. */
  sre?: SreOptions;
  /** Agent memory: the database, quotas, and which writes are quarantined. */
  memory?: MemoryOptions;
  /** Peer hosts (base URLs of their peer endpoints) for messages to agents not on this host. */
  peers?: string[];
  /** Deno executable for agents (this one by default). */
  deno?: string;
  /**
   * Kernel confinement under the broker (Landlock filesystem rules and a seccomp filter that
   * pins the working directory): "require" (the default) refuses to start agents without it.
   * "auto" is the old name of the default and means "require" (it no longer falls back).
   * "off" is the explicit, unsafe opt-out: agents run on the broker alone, the host warns,
   * every `agent.start` audit entry says so, and rings 2 and 3 are refused unless
   * `unsafeUnconfinedRings` is also set.
   */
  sandbox?: "auto" | "require" | "off";
  /** With `sandbox: "off"`, also run ring 2 and 3 agents unconfined (a second opt-out). */
  unsafeUnconfinedRings?: boolean;
  onEvent?: (e: HostEvent) => void;
}
