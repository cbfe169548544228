/** SIGHUP policy hot reload, the one path `deno task run` and `deno task host` share. */
import type { AgentHost } from "../host.ts";
import { loadPolicy } from "../policy/loader.ts";

/** Fleet mode with a policy channel: re-apply the channel's bundle (fleet/bundles.ts). */
export type FleetReload = (by: string) => Promise<{ ok: boolean; message: string }>;

/**
 * On SIGHUP recompile the policy from `paths` and swap it in atomically (a policy that does
 * not compile keeps the live one); one line on stderr either way. In fleet mode with a
 * channel (`fleet` given) the channel's bundle is fetched and applied again instead: local
 * files never replace fleet policy. Returns the unsubscribe.
 */
export function reloadOnHup(host: AgentHost, paths: string[], fleet?: FleetReload): () => void {
  const onHup = () => {
    if (fleet) {
      fleet("SIGHUP").then(
        (r) =>
          console.error(
            `warden: ${r.ok ? "policy reloaded" : "policy reload refused"}: ${r.message}`,
          ),
        (e) => console.error(`warden: policy reload refused: ${(e as Error).message}`),
      );
      return;
    }
    const r = host.delivery.reload(() => loadPolicy(paths, { builtin: true }));
    console.error(
      r.ok ? "warden: policy reloaded" : `warden: policy reload refused:\n${r.problems.join("\n")}`,
    );
  };
  Deno.addSignalListener("SIGHUP", onHup);
  return () => Deno.removeSignalListener("SIGHUP", onHup);
}
