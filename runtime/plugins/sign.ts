/** Signing a plugin folder: hash its files into the manifest, write plugin.json and plugin.sig. */
import { join } from "node:path";
import { canonicalJson } from "../../governance/audit/chain.ts";
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

/**
 * Sign the plugin in `dir` with `signer`. The template's `publisher` may be absent (it is set to
 * the signer's did); when present it must be the signer's did. Overwrites `files`, rewrites
 * plugin.json as canonical JSON and writes plugin.sig. Returns the signed manifest.
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
  Deno.writeTextFileSync(join(dir, MANIFEST_FILE), canonicalJson(manifest));
  Deno.writeTextFileSync(join(dir, SIGNATURE_FILE), JSON.stringify(sig) + "\n");
  return manifest;
}
