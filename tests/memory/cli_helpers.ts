/** Run `deno task memory` in-process (its runner, console captured) or as the real task. */
import { runCliCode } from "../../runtime/cli/runner.ts";
import { spec } from "../../runtime/cli/memory.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The memory CLI in-process: exit code and captured output. */
export async function memoryCli(
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await runCliCode(spec, args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

/** `deno task memory ARGS` as an operator runs it (the task's own permissions). */
export async function memoryTask(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "memory", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const t = new TextDecoder();
  return { code: r.code, out: t.decode(r.stdout).trim(), err: t.decode(r.stderr).trim() };
}
