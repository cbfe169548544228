/** Command-line flag parsing shared by the CLIs: a bad flag is one clear line, never a stack. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { AuditEntry } from "../../governance/audit/mod.ts";

/** One line for a decision, for people. */
export function describe(e: AuditEntry): string {
  const mark = e.effect === "allow" ? "ALLOW" : e.effect === "deny" ? "DENY " : "ASK  ";
  return `warden: ${mark} ${e.agent.name} ${e.action} ${e.resource.slice(0, 120)} — ${e.reason}`;
}

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

/**
 * An integer flag's value (undefined when absent); a value that is not an integer in
 * [min, max] is reported through `fail` with one line naming the flag.
 */
export function intFlag(
  name: string,
  v: string | undefined,
  min: number,
  max: number,
  fail: (message: string) => never,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    fail(`--${name}: expected an integer ${min}-${max}, got "${v}"`);
  }
  return n;
}
