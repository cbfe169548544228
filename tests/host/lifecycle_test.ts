/** Kill switch triggers and fail-closed lifecycle: API, denials, host death. */
import { assertEquals } from "../policy/asserts.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { pipeLines } from "../../runtime/supervisor/output.ts";

const agent = (name: string) => new URL(`./agents/life/${name}.ts`, import.meta.url).pathname;
const newHost = (o: Partial<ConstructorParameters<typeof AgentHost>[0]> = {}) =>
  new AgentHost({
    policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
    rings: loadRings(),
    ...o,
  });

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

Deno.test("the host API kills a busy-looping agent: SIGKILL, exit 137, audited reason", async () => {
  const host = newHost();
  try {
    const h = await host.start({ module: agent("spin") });
    await pipeLines(h.process.stdout, (l) => {
      if (l === "spinning") h.kill("operator pressed the button");
    });
    const exit = await h.exited;
    assertEquals(exit, { code: 137, signal: "SIGKILL", killed: "operator pressed the button" });
    assertEquals(alive(h.pid), false);
    const kill = host.audit.recent.find((e) => e.action === "agent.kill");
    assertEquals(kill?.reason, "kill switch: operator pressed the button");
  } finally {
    await host.close();
  }
});

Deno.test("policy trigger: N denials within a window kill the agent", async () => {
  const host = newHost({ killOnDenials: { count: 5, windowMs: 10_000 } });
  try {
    const h = await host.start({ module: agent("denied") });
    let out = "";
    await Promise.all([pipeLines(h.process.stdout, (l) => (out += l)), h.exited]);
    const exit = await h.exited;
    assertEquals([exit.code, exit.killed], [137, "policy: 5 denials within 10000 ms"]);
    if (out.includes("still alive")) throw new Error("agent outlived its denial budget");
    const denials = host.audit.recent.filter((e) =>
      e.effect === "deny" && e.action === "fs.read"
    ).length;
    if (denials < 5) throw new Error(`only ${denials} denials audited`);
  } finally {
    await host.close();
  }
});

Deno.test("when the host dies, its agents die too (no orphaned busy loops)", async () => {
  // The killed host cannot clean up its state directory: give it a TMPDIR this test removes.
  const tmp = await Deno.makeTempDir();
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "runtime/cli/run.ts", agent("spin"), "--json"],
    env: { TMPDIR: tmp },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let pid = 0;
  const reader = pipeLines(cmd.stderr, (l) => {
    try {
      const j = JSON.parse(l);
      if (j.event?.type === "start") pid = j.event.pid;
    } catch { /* not JSON */ }
  });
  await pipeLines(cmd.stdout, (l) => {
    if (l === "spinning") cmd.kill("SIGKILL");
  });
  await cmd.status;
  await reader;
  if (pid === 0) throw new Error("agent never started");
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  assertEquals(alive(pid), false);
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("without the kernel sandbox, a workspace with a symlink leading out is refused", async () => {
  // Both explicit opt-outs: no kernel sandbox, and ring 2 unconfined.
  const host = newHost({ sandbox: "off", unsafeUnconfinedRings: true });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/ws`);
    await Deno.symlink("/etc", `${dir}/ws/etc-link`);
    let msg = "";
    try {
      await host.start({ module: agent("spin"), workspace: `${dir}/ws` });
    } catch (e) {
      msg = (e as Error).message;
    }
    if (
      !msg.includes(
        `workspace symlink ${await Deno.realPath(
          `${dir}/ws`,
        )}/etc-link leads outside the workspace`,
      )
    ) {
      throw new Error(`expected a refusal, got: ${msg}`);
    }
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the kernel sandbox is in force (no new privileges, Landlock, seccomp)", async () => {
  const host = newHost();
  try {
    const h = await host.start({ module: agent("spin") });
    await pipeLines(h.process.stdout, (l) => {
      if (l !== "spinning") return;
      const status = Deno.readTextFileSync(`/proc/${h.pid}/status`);
      if (!/NoNewPrivs:\s+1/.test(status)) throw new Error("agent runs without no_new_privs");
      if (!/Seccomp:\s+2/.test(status)) throw new Error("agent runs without its seccomp filter");
      h.kill("done");
    });
    await h.exited;
  } finally {
    await host.close();
  }
});
