/** SIGHUP policy hot reload, the one path `deno task run` and `deno task host` share. */
import type { AgentHost } from "../host.ts";
import { loadPolicy } from "../policy/loader.ts";

/**
 * On SIGHUP recompile the policy from `paths` and swap it in atomically (a policy that does
 * not compile keeps the live one); one line on stderr either way. Returns the unsubscribe.
 */
export function reloadOnHup(host: AgentHost, paths: string[]): () => void {
  const onHup = () => {
    const r = host.delivery.reload(() => loadPolicy(paths, { builtin: true }));
    console.error(
      r.ok ? "warden: policy reloaded" : `warden: policy reload refused:\n${r.problems.join("\n")}`,
    );
  };
  Deno.addSignalListener("SIGHUP", onHup);
  return () => Deno.removeSignalListener("SIGHUP", onHup);
}
