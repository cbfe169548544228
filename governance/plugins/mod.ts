/**
 * Plugins: the signed manifest, its verification against a keyring and revocations, and tool
 * argument validators. Pure; the folder, file hashes and trust store live in runtime/plugins.
 *
 * A plugin folder holds `plugin.json` (a {@link PluginManifest}) and its files. The publisher
 * signs {@link signingPayload} — the canonical JSON of the manifest, whose `files` map gives
 * the sha-256 of every file except plugin.json and plugin.sig — with Ed25519, and writes
 * `plugin.sig` = `{ v: 1, publisher, sig }`. {@link verifyPlugin} refuses with a
 * {@link PluginError} naming the plugin and what failed.
 * @module
 */
export { PluginError, type PluginErrorCode } from "./errors.ts";
export { compareSemver, parseSemver, SEMVER_RE } from "./semver.ts";
export { type JsonSchema, JsonSchemaSubset, jsonSchemaToZod } from "./jsonschema.ts";
export {
  Capabilities,
  describeIssue,
  HOST_VERSION,
  isPluginPath,
  MANIFEST_FILE,
  ManifestTemplate,
  nameOf,
  parseManifest,
  parseTemplate,
  PLUGIN_NAME_RE,
  PluginManifest,
  SIGNATURE_FILE,
  ToolSpec,
} from "./manifest.ts";
export {
  checkUpgrade,
  compareFiles,
  EMPTY_KEYRING,
  Keyring,
  NO_REVOCATIONS,
  parseRelease,
  PluginSignature,
  Revocations,
  signingPayload,
  type VerifiedPlugin,
  type VerifyInput,
  verifyPlugin,
} from "./trust.ts";
export { toolValidators } from "./validators.ts";
