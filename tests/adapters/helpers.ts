/**
 * Run an adapter example (or a test agent) under a real AgentHost with the host's built-in
 * tools, collect its output events, stdio and audit trail, and clean everything up.
 */
import { join } from "node:path";
import type { AuditEntry } from "../../governance/audit/mod.ts";
import { registerBuiltinTools } from "../../runtime/executors/builtin_tools.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { type AgentExit, AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import type { Transcript } from "../../examples/adapters/scenario.ts";
import { assert, assertEquals } from "../policy/asserts.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
export const EXAMPLES = join(ROOT, "examples/adapters");
export const EXAMPLE_POLICY = join(EXAMPLES, "policy.yaml");

/** A finished run. */
export interface Run {
  exit: AgentExit;
  stdout: string;
  stderr: string;
  /** What the agent emitted, in order. */
  outputs: unknown[];
  /** This agent's audit entries. */
  audit: AuditEntry[];
  /** Real path of the agent's workspace (removed after the callback). */
  workspace: string;
}

/** Start `module` under a fresh host, wait for it, hand the run to `fn`, then clean up. */
export async function withRun(
  opts: { module: string; policy?: string; bundle?: boolean },
  fn: (run: Run) => void | Promise<void>,
): Promise<void> {
  const workspace = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-adapter-ws-" }));
  const outputs: unknown[] = [];
  const host = new AgentHost({
    policy: loadPolicy([opts.policy ?? EXAMPLE_POLICY], { builtin: true }),
    rings: loadRings(),
    tools: registerBuiltinTools(new ToolRegistry()),
    onEvent: (e) => {
      if (e.type === "output") outputs.push(e.output);
    },
  });
  try {
    const handle = await host.start({
      module: opts.module,
      bundle: opts.bundle ?? true,
      workspace,
      timeoutMs: 120_000,
    });
    const [stdout, stderr, exit] = await Promise.all([
      handle.process.stdout ? new Response(handle.process.stdout).text() : "",
      handle.process.stderr ? new Response(handle.process.stderr).text() : "",
      handle.exited,
    ]);
    const audit = host.audit.recent.filter((e) => e.agent.id === handle.id);
    await fn({ exit, stdout, stderr, outputs, audit, workspace });
  } finally {
    await host.close();
    await Deno.remove(workspace, { recursive: true });
  }
}

/** The run's exit, stdio and audit, for failure messages. */
export function describe(run: Run): string {
  const audit = run.audit
    .map((e) => `  ${e.path} ${e.action} ${e.resource} ${e.effect} ${e.rule ?? "-"}: ${e.reason}`)
    .join("\n");
  return `exit: ${JSON.stringify(run.exit)}\nstdout:\n${run.stdout}\nstderr:\n${
    run.stderr.slice(0, 4000)
  }\noutputs: ${JSON.stringify(run.outputs)}\naudit:\n${audit}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * What every framework example must show: the allowed worker-mode tool ran (its file exists)
 * and the host-mode search found it, both results reached the model; the denied tool's local
 * execute never ran (no outbox/) and the model received the Warden line naming the rule; the
 * audit holds the three tool.call decisions.
 */
export async function assertScenario(run: Run, framework: string): Promise<void> {
  const why = describe(run);
  assertEquals(run.exit, { code: 0, signal: null, killed: null }, why);
  assertEquals(run.outputs.length, 1, why);
  const t = run.outputs[0] as Transcript;
  assertEquals(t.framework, framework, why);
  assertEquals(t.seen.map((s) => s.tool), ["write_note", "search", "send_email"], why);
  const [note, search, email] = t.seen;

  assertEquals(note.output, "wrote 47 bytes to notes/meeting.md", why);
  assertEquals(
    await Deno.readTextFile(join(run.workspace, "notes/meeting.md")),
    "Quarterly review moved to Friday. Budget: 42k.\n",
  );
  // The host's search (not the local implementation, which would throw) found the note.
  assertEquals(JSON.parse(search.output), [
    { file: "notes/meeting.md", line: 1, text: "Quarterly review moved to Friday. Budget: 42k." },
  ], why);

  assertEquals(
    email.output,
    'Warden denied tool "send_email" (rule no-external-email): ' +
      "email may only go to example.com addresses",
    why,
  );
  assert(!(await exists(join(run.workspace, "outbox"))), `send_email ran locally\n${why}`);
  if (note.error !== undefined) {
    assertEquals([note.error, search.error, email.error], [false, false, true]);
  }
  assert(t.final.includes(email.output) && t.final.includes(note.output), why);

  const calls = run.audit.filter((e) => e.action === "tool.call")
    .map((e) => [e.path, e.resource, e.effect, e.rule]);
  assertEquals(calls, [
    ["sdk", "write_note", "allow", "notes-and-search"],
    ["sdk", "search", "allow", "notes-and-search"],
    ["sdk", "send_email", "deny", "no-external-email"],
  ], why);
  // The worker-mode tool's own file write went through the broker.
  assert(
    run.audit.some((e) =>
      e.path === "broker" && e.action === "fs.write" && e.effect === "allow" &&
      e.resource === join(run.workspace, "notes/meeting.md")
    ),
    `the note's write was not decided by the broker\n${why}`,
  );
}
