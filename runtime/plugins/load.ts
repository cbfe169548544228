/** Load an installed plugin into a host: verify it again, then start it (see AgentHost.loadPlugin). */
import type { AgentHandle, AgentHost } from "../host.ts";
import { verifyInstalled } from "./store.ts";

/** Re-verify `name` under `state` (signature, files, keyring, revocations) and load it. */
export async function loadInstalledPlugin(
  host: AgentHost,
  state: string,
  name: string,
): Promise<AgentHandle> {
  const p = await verifyInstalled(state, name);
  return await host.loadPlugin({
    name: p.name,
    version: p.manifest.version,
    publisher: p.manifest.publisher,
    dir: p.dir,
    entry: p.entryPath,
    ring: p.ring,
    capabilities: p.manifest.capabilities ?? {},
    tools: p.validators,
  });
}
