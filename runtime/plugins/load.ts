/**
 * Loading plugins into a host: an installed plugin is verified again, its load decided, its
 * process started at its installed ring under its declared capabilities, and its tools
 * registered (see AgentHost.loadPlugin).
 */
import type { z } from "zod";
import type { Capabilities, Ring } from "../../governance/rings/mod.ts";
import type { ToolRegistry } from "../executors/tools.ts";
import { type Governor, HOST_AGENT, refusalMessage } from "../governor.ts";
import type { AgentHandle, AgentHost, AgentSpec } from "../host.ts";
import { SDK_DIR } from "../supervisor/launch.ts";
import { PluginChannel } from "./channel.ts";
import { verifyInstalled } from "./store.ts";

/** A verified plugin, ready to load (see runtime/plugins/). */
export interface PluginProcessSpec {
  name: string;
  version: string;
  publisher: string;
  /** Installed folder and absolute entry module path. */
  dir: string;
  entry: string;
  ring: number;
  capabilities: Capabilities;
  /** Argument validators per tool. */
  tools: Record<string, z.ZodType>;
}

/** What loading a plugin needs of the host. */
export interface PluginHost {
  governor: Governor;
  tools: ToolRegistry;
  stateDir: string;
  /** Claim the plugin's identity and start its process at `ring`, speaking over `channel`. */
  launch(spec: AgentSpec, ring: number, channel: PluginChannel): Promise<AgentHandle>;
}

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

/**
 * Load a verified plugin into `host`: decide `plugin.load`, start its process at its installed
 * ring under its declared capabilities, and register its tools (`<plugin>.<tool>`, arguments
 * validated by the manifest's schemas; each call decided as `tool.call` like any tool).
 */
export async function loadPlugin(host: PluginHost, p: PluginProcessSpec): Promise<AgentHandle> {
  const loader = { ...HOST_AGENT, workspace: host.stateDir, code: p.dir, sdk: SDK_DIR };
  const { refused } = await host.governor.authorize(loader, {
    path: "host",
    action: "plugin.load",
    resource: `${p.name}@${p.version}`,
    args: { publisher: p.publisher, ring: p.ring },
  });
  if (refused) {
    throw new Error(`plugin ${p.name}@${p.version} not loaded: ${refusalMessage(refused)}`);
  }
  const names = Object.keys(p.tools).map((t) => `${p.name}.${t}`);
  const taken = names.find((n) => host.tools.get(n));
  if (taken) throw new Error(`plugin ${p.name}: tool ${taken} is already registered`);
  const channel = new PluginChannel(p.name);
  const spec: AgentSpec = {
    module: p.entry,
    name: `plugin-${p.name}`,
    ring: p.ring as Ring,
    capabilities: p.capabilities,
    stdio: "null",
  };
  const handle = await host.launch(spec, p.ring, channel);
  handle.exited.then(() => channel.close());
  for (const [tool, schema] of Object.entries(p.tools)) {
    host.tools.register(`${p.name}.${tool}`, {
      description: `${tool} from plugin ${p.name}@${p.version}`,
      schema,
      run: (args, ctx) =>
        channel.call(tool, args as Record<string, unknown>, ctx.signal, ctx.idempotencyKey),
    });
  }
  return handle;
}
