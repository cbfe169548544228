/** Signing a plugin folder: hash its files into the manifest, write plugin.json and plugin.sig. */
import { join } from "node:path";
import { b64url, type Signer } from "../../governance/identity/sign.ts";
import {
  describeIssue,
  MANIFEST_FILE,
  parseTemplate,
  PluginError,
  PluginManifest,
  type PluginSignature,
  SIGNATURE_FILE,
  signingPayload,
} from "../../governance/plugins/mod.ts";
import { readPluginFolder } from "./folder.ts";

/** The manifest's keys in the order `sign` writes them: the schema's order. */
const KEY_ORDER = Object.keys(PluginManifest.shape) as (keyof PluginManifest)[];

/**
 * plugin.json as `sign` writes it: pretty JSON (two spaces, a final newline), top-level keys in
 * the schema's order, nested keys as the schema parses them (its order for fixed shapes such as
 * `capabilities`, the author's for maps such as `tools`), `files` sorted by path — the same bytes
 * for the same manifest, and signing again changes nothing. The signature does not depend
 * on it (it covers the canonical JSON).
 */
export function manifestText(m: PluginManifest): string {
  const files = Object.fromEntries(Object.entries(m.files).sort(([a], [b]) => a < b ? -1 : 1));
  const ordered = Object.fromEntries(KEY_ORDER.map((k) => [k, k === "files" ? files : m[k]]));
  return JSON.stringify(ordered, null, 2) + "\n";
}

/**
 * Sign the plugin in `dir` with `signer`. The template's `publisher` may be absent (it is set to
 * the signer's did); when present it must be the signer's did, else the folder is left untouched
 * and the sign is refused (`wrong-key`). Overwrites `files`, rewrites plugin.json as
 * {@link manifestText} and writes plugin.sig. Returns the signed manifest.
 */
export async function signPluginFolder(dir: string, signer: Signer): Promise<PluginManifest> {
  const folder = await readPluginFolder(dir);
  if (folder.manifestText === null) {
    throw new PluginError("invalid-manifest", dir, `no ${MANIFEST_FILE}`);
  }
  const template = parseTemplate(folder.manifestText, dir);
  if (template.publisher !== undefined && template.publisher !== signer.did) {
    throw new PluginError(
      "wrong-key",
      template.name,
      `${MANIFEST_FILE} names publisher ${template.publisher}, but the key is ${signer.did}`,
    );
  }
  const parsed = PluginManifest.safeParse({
    ...template,
    publisher: signer.did,
    files: folder.fileHashes,
  });
  if (!parsed.success) {
    throw new PluginError(
      "invalid-manifest",
      template.name,
      `invalid ${MANIFEST_FILE}: ${describeIssue(parsed.error)}`,
    );
  }
  const manifest = parsed.data;
  const sig: PluginSignature = {
    v: 1,
    publisher: signer.did,
    sig: b64url(await signer.sign(signingPayload(manifest))),
  };
  Deno.writeTextFileSync(join(dir, MANIFEST_FILE), manifestText(manifest));
  Deno.writeTextFileSync(join(dir, SIGNATURE_FILE), JSON.stringify(sig) + "\n");
  return manifest;
}
