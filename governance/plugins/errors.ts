/** Plugin refusals: one error class, a machine-readable code and a one-line message. */

/** Why a plugin was refused. */
export type PluginErrorCode =
  | "invalid-manifest"
  | "unsigned"
  | "bad-signature"
  | "wrong-key"
  | "untrusted"
  | "revoked-key"
  | "revoked-version"
  | "tampered"
  | "downgrade"
  | "host-too-old"
  | "not-installed"
  | "invalid-folder"
  | "invalid-store";

/** A refusal naming the plugin (or its folder) and what failed. */
export class PluginError extends Error {
  override name = "PluginError";
  constructor(
    readonly code: PluginErrorCode,
    /** The plugin's name (or its folder when the name is not known). */
    readonly plugin: string,
    detail: string,
  ) {
    super(`plugin "${plugin}": ${detail}`);
  }
}
