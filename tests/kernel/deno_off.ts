/**
 * The Deno-off test mode (issue 20 item 5): a program — a Deno agent with Deno's permission
 * checks off (`deno run -A`, no broker, no SDK), or a native program — started at a ring under
 * the kernel layers only (Landlock trees, seccomp, TCP and scope rules, cgroup), through the
 * same planner command agents use (runtime/supervisor/command.ts). Test-only: nothing in
 * runtime/ imports this module, and no HostOptions field or CLI flag names it
 * (tests/kernel/guard_test.ts checks both).
 */
import { join } from "node:path";
import {
  agentBudgets,
  type BudgetOverrides,
  type Budgets,
  type Ring,
  ringBudgets,
} from "../../governance/rings/mod.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { AgentCgroup } from "../../runtime/supervisor/cgroup.ts";
import { planCommand, spawnCommand } from "../../runtime/supervisor/command.ts";
import { landlockSandbox } from "../../runtime/supervisor/sandbox/build.ts";
import { killGroup } from "../../runtime/supervisor/spawn.ts";

/** One confined run's outcome. */
export interface Ran {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
  cgroup: AgentCgroup | null;
  budgets: Budgets;
  workspace: string;
  /** The JSON lines of the program's stdout (the hostile agents' attempts). */
  lines: Record<string, unknown>[];
  /** What the kernel counted in its cgroup: OOM kills, refused forks. */
  oomKills: number;
  pidsRefused: number;
}

export interface ConfinedOptions {
  ring: Ring;
  argv: string[];
  workspace?: string;
  budgets?: BudgetOverrides;
  env?: Record<string, string>;
  /** Kill after this long (the run is then reported with signal SIGKILL). */
  timeoutMs?: number;
  /** Its own code files (read-only), besides the program and a first script argument. */
  code?: string[];
}

/** Run `argv` at `ring` under the kernel layers only; resolves when it has exited. */
export async function runConfined(o: ConfinedOptions): Promise<Ran> {
  const rings = loadRings();
  const sandbox = landlockSandbox();
  if (!sandbox.path) throw new Error(`no kernel sandbox here: ${sandbox.why}`);
  const workspace = Deno.realPathSync(
    o.workspace ?? Deno.makeTempDirSync({ prefix: "warden-denooff-ws-" }),
  );
  const cache = Deno.makeTempDirSync({ prefix: "warden-denooff-cache-" });
  const budgets = agentBudgets(ringBudgets(rings.doc.budgets, o.ring), o.budgets);
  const cg = AgentCgroup.create(budgets);
  const cgroup = typeof cg === "string" ? null : cg;
  const planned = planCommand({
    argv: o.argv,
    ring: o.ring,
    ceiling: rings.doc.rings[o.ring],
    workspace,
    cache,
    budgets,
    sandbox,
    cgroup,
    env: o.env,
    code: o.code,
  });
  if (typeof planned === "string") throw new Error(planned);
  const child = spawnCommand(planned.plan);
  const timer = setTimeout(
    () => cgroup ? cgroup.killAll() : child.kill("SIGKILL"),
    o.timeoutMs ?? 60_000,
  );
  const out = new Response(child.stdout).text(), err = new Response(child.stderr).text();
  const s = await child.status;
  clearTimeout(timer);
  // Descendants left behind (a fork bomb's children) hold the pipes open: end them first.
  const oomKills = cgroup?.oomKills() ?? 0, pidsRefused = cgroup?.pidsRefused() ?? 0;
  if (cgroup) cgroup.killAll();
  else killGroup(child.pid);
  const [stdout, stderr] = await Promise.all([out, err]);
  const lines = stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const ran = {
    ...{ code: s.code, signal: s.signal, stdout, stderr, cgroup, budgets, workspace, lines },
    ...{ oomKills, pidsRefused },
  };
  await cgroup?.remove();
  Deno.removeSync(cache, { recursive: true });
  return ran;
}

/** Run a Deno module with `-A` (every Deno permission check off) at `ring`. */
export function runDenoOff(
  module: string,
  o: Omit<ConfinedOptions, "argv"> & { args?: string[] },
): Promise<Ran> {
  return runConfined({
    ...o,
    code: [module],
    argv: [
      Deno.execPath(),
      "run",
      "-A",
      "--no-prompt",
      "--no-config",
      "--no-lock",
      "--no-remote",
      module,
      ...(o.args ?? []),
    ],
  });
}

/** The directory of the hostile programs. */
export const HOSTILE = new URL("./agents/", import.meta.url).pathname;
export const hostile = (name: string) => join(HOSTILE, name);
