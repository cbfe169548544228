/** Run a deno task-like command and capture its output. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

let home: string | undefined;
/** A per-test-run WARDEN_HOME, so tests never touch the operator's keystore. */
export function wardenHome(): string {
  if (home === undefined) {
    const dir = Deno.makeTempDirSync({ prefix: "warden-home-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    home = dir;
  }
  return home;
}

/** Run `deno <args>` from the repository root, optionally feeding stdin. */
export async function runDeno(
  args: string[],
  stdin?: string,
  env: Record<string, string> = {},
): Promise<Ran> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args,
    cwd: new URL("../../", import.meta.url).pathname,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", WARDEN_HOME: wardenHome(), ...env },
  });
  const child = cmd.spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
