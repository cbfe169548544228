/**
 * The sandbox mode's refusal rules. Kernel confinement is required by default: without it the
 * broker cannot hold (a relative path can be re-pointed between its check and the open, a
 * symlink swapped in), so running without it is an explicit opt-out, and running untrusted
 * rings (2 and 3) without it a second one.
 */

/** What the host was told about the kernel sandbox. */
export interface SandboxMode {
  sandbox?: "auto" | "require" | "off";
  unsafeUnconfinedRings?: boolean;
}

/** Why agents run unconfined, as written in warnings, refusals and `agent.start` entries. */
export const UNCONFINED =
  "UNSAFE: kernel sandbox disabled by the operator (sandbox: off); agents are confined by the broker alone";

/** The warning line a host prints once when it was told to run without the kernel sandbox. */
export function unconfinedWarning(mode: SandboxMode): string | null {
  if (mode.sandbox !== "off") return null;
  return `warden: WARNING: ${UNCONFINED}${
    mode.unsafeUnconfinedRings
      ? " (rings 2 and 3 too: --unsafe-allow-unconfined-rings)"
      : "; ring 2 and 3 agents are refused"
  }`;
}

/**
 * Why an agent at `ring` may not start under this mode (null: it may). "auto" is the old name
 * of the default and means "require": it never falls back to the broker alone.
 */
export function unconfinedRefusal(
  mode: SandboxMode,
  sandbox: { path: string | null; why: string },
  ring: number,
): string | null {
  if (mode.sandbox !== "off") {
    return sandbox.path ? null : `kernel sandbox required but unavailable: ${sandbox.why}`;
  }
  if (ring >= 2 && !mode.unsafeUnconfinedRings) {
    return `ring ${ring} agents need the kernel sandbox; sandbox is off (to run them unconfined ` +
      `anyway, also set unsafeUnconfinedRings / --unsafe-allow-unconfined-rings)`;
  }
  return null;
}

/** The CLI flags for the two opt-outs (shared by `run`, `host` and `mcp-gateway`). */
export const SANDBOX_FLAGS = {
  "unsafe-no-sandbox": { type: "boolean" },
  "unsafe-allow-unconfined-rings": { type: "boolean" },
} as const;

/** Usage lines for SANDBOX_FLAGS. */
export const SANDBOX_USAGE = `  --unsafe-no-sandbox
             run agents without the kernel sandbox (Landlock, seccomp, pinned cwd):
             UNSAFE, the broker alone cannot hold; ring 2 and 3 agents are still refused
  --unsafe-allow-unconfined-rings
             with --unsafe-no-sandbox, run ring 2 and 3 agents unconfined too`;

/** Host options from the CLI flags; an error line when they do not fit together. */
export function sandboxFromFlags(
  o: { "unsafe-no-sandbox"?: boolean; "unsafe-allow-unconfined-rings"?: boolean },
): SandboxMode | string {
  if (o["unsafe-allow-unconfined-rings"] && !o["unsafe-no-sandbox"]) {
    return "--unsafe-allow-unconfined-rings needs --unsafe-no-sandbox";
  }
  if (!o["unsafe-no-sandbox"]) return { sandbox: "require" };
  return { sandbox: "off", unsafeUnconfinedRings: o["unsafe-allow-unconfined-rings"] === true };
}
