/**
 * What an operator hands an agent at start: its arguments (`Deno.args`) and the values it may
 * read with the SDK's `env.get` (never its process environment). One set of limits for every
 * way in — `deno task run --env NAME=VALUE -- ARGS…`, `POST /api/agents`, `AgentHost.start` —
 * checked again by the host at start, so no caller can hand over more than this.
 */

/** A name `env.get` values may have: a plain identifier. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** The most an agent is given. */
export const AGENT_INPUT_LIMITS = {
  /** `env.get` values per agent. */
  envCount: 64,
  /** Characters of one `env.get` value. */
  envValueChars: 4096,
  /** Arguments per agent. */
  args: 64,
  /** Characters of one argument. */
  argChars: 4096,
} as const;

/** Why `env` (the `env.get` values) cannot be given to an agent, or null. */
export function envProblem(env: Record<string, string> | undefined): string | null {
  const entries = Object.entries(env ?? {});
  if (entries.length > AGENT_INPUT_LIMITS.envCount) {
    return `${entries.length} env values (at most ${AGENT_INPUT_LIMITS.envCount})`;
  }
  for (const [name, value] of entries) {
    if (!ENV_NAME.test(name)) {
      return `env name ${JSON.stringify(name.slice(0, 64))} is not a variable name ` +
        `(letters, digits and _, not starting with a digit)`;
    }
    if (typeof value !== "string") return `env ${name}: the value is not a string`;
    if (value.length > AGENT_INPUT_LIMITS.envValueChars) {
      return `env ${name}: the value has ${value.length} characters ` +
        `(at most ${AGENT_INPUT_LIMITS.envValueChars})`;
    }
  }
  return null;
}

/** Why `args` (the agent's arguments) cannot be given to an agent, or null. */
export function argsProblem(args: readonly string[] | undefined): string | null {
  const list = args ?? [];
  if (list.length > AGENT_INPUT_LIMITS.args) {
    return `${list.length} arguments (at most ${AGENT_INPUT_LIMITS.args})`;
  }
  for (const [i, a] of list.entries()) {
    if (typeof a !== "string") return `argument ${i + 1} is not a string`;
    if (a.length > AGENT_INPUT_LIMITS.argChars) {
      return `argument ${
        i + 1
      } has ${a.length} characters (at most ${AGENT_INPUT_LIMITS.argChars})`;
    }
    if (a.includes("\0")) return `argument ${i + 1} contains a NUL character`;
  }
  return null;
}

/**
 * The `env.get` values of repeated `--env NAME=VALUE` flags. The value is everything after the
 * first `=` (it may be empty, or hold `=`); a flag without `=`, a bad name, a name given twice
 * or a value over the limits is refused: the returned string says why, naming the flag.
 */
export function envFromFlags(flags: readonly string[]): Record<string, string> | string {
  // A Map, not an object literal: `__proto__` is a name like any other.
  const env = new Map<string, string>();
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    const shown = JSON.stringify(flag.length > 64 ? `${flag.slice(0, 64)}…` : flag);
    if (eq < 0) return `--env ${shown}: expected NAME=VALUE`;
    const name = flag.slice(0, eq);
    if (name === "") return `--env ${shown}: the name is empty`;
    if (env.has(name)) return `--env ${name}: given twice`;
    const one = Object.fromEntries([[name, flag.slice(eq + 1)]]);
    const why = envProblem(one);
    if (why) return `--env: ${why}`;
    env.set(name, one[name]);
  }
  const all = Object.fromEntries(env);
  const why = envProblem(all);
  return why ? `--env: ${why}` : all;
}
