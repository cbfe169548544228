/**
 * Signed plugins on disk: reading and hashing a folder, signing it, and the trust store and
 * install directory under `<state>/plugins/`. The host calls {@link verifyInstalled} before
 * loading a plugin.
 * @module
 */
export { listFiles, type PluginFolder, readPluginFolder, sha256Hex } from "./folder.ts";
export { manifestText, signPluginFolder } from "./sign.ts";
export {
  DEFAULT_PLUGIN_RING,
  InstalledIndex,
  InstalledRecord,
  type LoadablePlugin,
  PluginStore,
  verifyInstalled,
} from "./store.ts";
export { loadInstalledPlugin } from "./load.ts";
export { PluginChannel } from "./channel.ts";
