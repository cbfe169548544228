/**
 * What each control-plane role may set when it starts an agent (issue 16, class 10). Viewers
 * start nothing. Operators start agents only from modules under the host's agent roots (after
 * symlinks are resolved), at ring 2 or 3, in a fresh workspace the host creates under its state
 * directory, with budgets no looser than the host's defaults; they may not set labels (policies
 * match on them), bundle (the bundler reads files on the host's behalf), or name an agent other
 * than after its module (a name is an identity: its key, trust score and the policy rules that
 * match on it). Admins may set every field.
 */
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { z } from "zod";
import type { AgentSpec } from "../host.ts";
import type { Ring } from "../../governance/rings/mod.ts";
import { AGENT_INPUT_LIMITS as LIMITS, ENV_NAME } from "../host/agent_input.ts";

export type Role = "viewer" | "operator" | "admin";
export const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** The lowest ring an operator may start an agent at (the host's default ring). */
export const OPERATOR_MIN_RING = 2;
/** Budgets an operator may only tighten (the host's defaults for an agent). */
export const OPERATOR_MAX = { cpuMs: 600_000, heapMb: 256 } as const;

const Name = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
  "1-128 letters, digits, '.', '_' or '-'",
);

/** The body of `POST /api/agents`. */
export const StartBody = z.strictObject({
  module: z.string().min(1).max(4096),
  name: Name.optional(),
  ring: z.number().int().min(0).max(3).optional(),
  workspace: z.string().min(1).max(4096).optional(),
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
  cpuMs: z.number().int().min(1).max(86_400_000).optional(),
  memoryBytes: z.number().int().min(1 << 20).max(2 ** 40).optional(),
  heapMb: z.number().int().min(16).max(65_536).optional(),
  env: z.record(z.string().regex(ENV_NAME), z.string().max(LIMITS.envValueChars))
    .refine((e) => Object.keys(e).length <= LIMITS.envCount, `at most ${LIMITS.envCount} variables`)
    .optional(),
  args: z.array(z.string().max(LIMITS.argChars)).max(LIMITS.args).optional(),
  labels: z.record(z.string().max(128), z.string().max(256)).optional(),
  bundle: z.boolean().optional(),
});
export type StartBody = z.infer<typeof StartBody>;

export interface StartContext {
  /** Directories operators may start modules from. */
  agentRoots: readonly string[];
  /** Names of agents running now. */
  running: readonly string[];
  /** The resident-memory budget of a ring (`policies/rings.yaml`): operators only tighten it. */
  ringMemory: (ring: Ring) => number;
}

function realOrNull(p: string): string | null {
  try {
    return Deno.realPathSync(p);
  } catch {
    return null;
  }
}

/** The real path of `p`'s nearest existing ancestor, joined with the rest (null: none). */
function realParent(p: string): string | null {
  const dir = dirname(p);
  if (dir === p) return null;
  const real = realOrNull(dir);
  if (real !== null) return join(real, basename(p));
  const up = realParent(dir);
  return up === null ? null : join(up, basename(p));
}

function inside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r !== "" && !r.startsWith(".." + sep) && r !== ".." && !isAbsolute(r);
}

/**
 * Check a start request against the caller's role. Returns the spec to start (its module
 * resolved through symlinks for operators, so what was checked is what runs) or the reason it
 * is refused.
 */
export function authorizeStart(
  role: Role,
  b: StartBody,
  ctx: StartContext,
): { spec: AgentSpec } | { refused: string } {
  const spec: AgentSpec = { ...b, ring: b.ring as Ring | undefined };
  if (role === "admin") return { spec };
  if (role !== "operator") return { refused: `the ${role} role may not start agents` };
  const no = (why: string) => ({ refused: `an operator ${why} (admins only)` });
  if (b.ring !== undefined && b.ring < OPERATOR_MIN_RING) {
    return no(`may start agents only at ring ${OPERATOR_MIN_RING} or 3, not ring ${b.ring}`);
  }
  if (b.workspace !== undefined) {
    return no("may not choose a workspace: the host creates a fresh one");
  }
  if (b.labels !== undefined) return no("may not set labels");
  if (b.bundle !== undefined) return no("may not bundle modules");
  if (b.cpuMs !== undefined && b.cpuMs > OPERATOR_MAX.cpuMs) {
    return no(`may only tighten the CPU budget (at most ${OPERATOR_MAX.cpuMs} ms)`);
  }
  if (b.heapMb !== undefined && b.heapMb > OPERATOR_MAX.heapMb) {
    return no(`may only tighten the heap budget (at most ${OPERATOR_MAX.heapMb} MiB)`);
  }
  const ring = (b.ring ?? OPERATOR_MIN_RING) as Ring;
  if (b.memoryBytes !== undefined && b.memoryBytes > ctx.ringMemory(ring)) {
    return no(
      `may only tighten the memory budget (ring ${ring}: at most ${ctx.ringMemory(ring)} bytes)`,
    );
  }
  // Outside the roots, missing and present files are refused alike (no probing the host).
  const lexical = resolve(b.module);
  const file = realOrNull(lexical);
  const roots = ctx.agentRoots.map(realOrNull).filter((r): r is string => r !== null);
  const under = (p: string) => roots.some((r) => inside(r, p));
  if (file === null ? !under(realParent(lexical) ?? lexical) : !under(file)) {
    return no(
      `may start only modules under the host's agent roots (${
        ctx.agentRoots.join(", ") || "none configured"
      }), not ${b.module}`,
    );
  }
  if (file === null || !Deno.statSync(file).isFile) {
    return { refused: `agent module not found: ${b.module}` };
  }
  const own = basename(file).replace(/\.[jt]sx?$/, "");
  if (b.name !== undefined && b.name !== own) {
    return no(`may not name an agent other than after its module (${own}), not ${b.name}`);
  }
  if (own.startsWith("plugin-")) return no('may not start an agent named "plugin-…"');
  if (ctx.running.includes(own)) return no(`may not start a second ${own}: it is running`);
  return { spec: { ...spec, module: file, ring } };
}

/** The default agent root of a `deno task host`: `<warden home>/agents`. */
export function defaultAgentRoot(home: string): string {
  return join(home, "agents");
}
