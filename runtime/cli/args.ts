/** Command-line flag parsing shared by the CLIs: a bad flag is one clear line, never a stack. */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Parse `Deno.args` with positionals; on a bad flag print it and `usage` and return null. */
export function parseCli<O extends NonNullable<ParseArgsConfig["options"]>>(
  options: O,
  usage: string,
): ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>> | null {
  try {
    return parseArgs({ args: Deno.args, allowPositionals: true, options });
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : e}\n${usage}`);
    return null;
  }
}
