/**
 * `deno task check`: formatting, lint and type-check of the whole repository, in that order,
 * stopping at the first that fails (its exit code is the command's).
 */
import { type CliSpec, command, runCli } from "./runner.ts";

const STEPS = [["fmt", "--check"], ["lint"], ["check", "**/*.ts"]];

async function check(): Promise<number> {
  for (const args of STEPS) {
    const { code } = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: new URL("../../", import.meta.url).pathname,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    if (code !== 0) return code;
  }
  return 0;
}

/** `deno task check`. */
export const spec: CliSpec = {
  name: "check",
  command: command({
    help: "  deno fmt --check, deno lint, deno check **/*.ts (stops at the first failure)",
    main: check,
  }),
};

if (import.meta.main) await runCli(spec);
