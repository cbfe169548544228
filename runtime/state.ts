/** Where a host keeps what must outlive it: keys, trust, the saga journal. */
import { join } from "node:path";

/** $WARDEN_HOME, else $XDG_STATE_HOME/warden, else ~/.local/state/warden. */
export function wardenHome(): string {
  const home = Deno.env.get("WARDEN_HOME");
  if (home) return home;
  const state = Deno.env.get("XDG_STATE_HOME") ??
    join(Deno.env.get("HOME") ?? "/tmp", ".local", "state");
  return join(state, "warden");
}
