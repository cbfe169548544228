/**
 * Budgets without Deno's help (issue 20 item 5): a program with Deno's checks off, or a native
 * one, cannot leave its cgroup's memory and pids budgets — the kernel refuses the fork past
 * `pids` and OOM-kills the allocation past `memory`.
 */
import { join } from "node:path";
import { cgroupSupport } from "../../runtime/supervisor/cgroup.ts";
import { hostile, runConfined, runDenoOff } from "./deno_off.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const MiB = 1 << 20;

function needCgroups(): void {
  const s = cgroupSupport();
  if (!s.memory || !s.pids) throw new Error(`no memory and pids cgroups here: ${s.why}`);
}

Deno.test("budgets: a native fork bomb at ring 3 stops at the pids budget", opts, async () => {
  needCgroups();
  const dir = Deno.makeTempDirSync({ prefix: "warden-bomb-" });
  const bin = join(dir, "forkbomb");
  const cc = new Deno.Command("cc", { args: ["-o", bin, hostile("forkbomb.c")] }).outputSync();
  if (!cc.success) throw new Error("cc failed");
  const r = await runConfined({ ring: 3, argv: [bin], budgets: { pids: 32 } });
  const line = r.lines.find((l) => l.step === "fork bomb") as { made: number; refused: number };
  if (!line) throw new Error(`no report: ${r.code} ${r.stdout} ${r.stderr}`);
  if (line.made >= 32 || line.refused === 0 || r.pidsRefused === 0) {
    throw new Error(`the pids budget did not hold: ${JSON.stringify(line)}, ${r.pidsRefused}`);
  }
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("budgets: an allocation past the memory budget with -A is OOM-killed", opts, async () => {
  needCgroups();
  const r = await runDenoOff(hostile("alloc.ts"), { ring: 3, budgets: { memoryBytes: 192 * MiB } });
  if (r.stdout.includes("BUDGET-ESCAPED")) throw new Error("allocated past the budget");
  if (r.signal !== "SIGKILL" || r.oomKills === 0) {
    throw new Error(`not OOM-killed: ${r.code} ${r.signal} ${r.oomKills}\n${r.stderr.slice(-500)}`);
  }
});
