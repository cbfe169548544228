/**
 * The trust store's shapes (keyring and revocations) and the pure verification of a plugin:
 * given its manifest text, signature text and the sha-256 of every file actually present, decide
 * whether it may be installed or loaded. No I/O.
 */
import { z } from "zod";
import { canonicalJson } from "../audit/chain.ts";
import { unb64url, verifyDid } from "../identity/sign.ts";
import { PluginError } from "./errors.ts";
import {
  HOST_VERSION,
  MANIFEST_FILE,
  nameOf,
  parseManifest,
  PLUGIN_NAME_RE,
  type PluginManifest,
  SIGNATURE_FILE,
} from "./manifest.ts";
import { compareSemver, SEMVER_RE } from "./semver.ts";

const DidString = z.string().startsWith("did:key:z", { error: "expected a did:key" });

/** `<state>/plugins/keyring.json`: trusted publishers. */
export const Keyring = z.strictObject({
  v: z.literal(1),
  publishers: z.array(z.strictObject({ did: DidString, name: z.string(), addedAt: z.string() })),
});
export type Keyring = z.infer<typeof Keyring>;

/** `<state>/plugins/revoked.json`: revoked publisher keys and revoked `name@version`s. */
export const Revocations = z.strictObject({
  v: z.literal(1),
  keys: z.array(z.strictObject({ did: DidString, revokedAt: z.string() })),
  versions: z.array(
    z.strictObject({
      plugin: z.string().refine((s) => parseRelease(s) !== null, {
        error: "expected name@x.y.z",
      }),
      revokedAt: z.string(),
    }),
  ),
});
export type Revocations = z.infer<typeof Revocations>;

/** An empty keyring. */
export const EMPTY_KEYRING: Keyring = { v: 1, publishers: [] };
/** No revocations. */
export const NO_REVOCATIONS: Revocations = { v: 1, keys: [], versions: [] };

/** `name@x.y.z` → its parts, or null. */
export function parseRelease(s: string): { name: string; version: string } | null {
  const at = s.lastIndexOf("@");
  if (at <= 0) return null;
  const name = s.slice(0, at);
  const version = s.slice(at + 1);
  return PLUGIN_NAME_RE.test(name) && SEMVER_RE.test(version) ? { name, version } : null;
}

/** `plugin.sig`. */
export const PluginSignature = z.strictObject({
  v: z.literal(1),
  publisher: DidString,
  /** Ed25519 signature, base64url, over `signingPayload(manifest)`. */
  sig: z.string().regex(/^[A-Za-z0-9_-]{86}$/, { error: "expected a base64url Ed25519 signature" }),
});
export type PluginSignature = z.infer<typeof PluginSignature>;

/** The bytes a publisher signs: the canonical JSON of the whole manifest (with its `files`). */
export function signingPayload(manifest: PluginManifest): Uint8Array {
  return new TextEncoder().encode(canonicalJson(manifest));
}

/** What verification needs; all plain data. */
export interface VerifyInput {
  /** The text of plugin.json, or null when the folder has none. */
  manifestText: string | null;
  /** The text of plugin.sig, or null when the folder has none. */
  signatureText: string | null;
  /** sha-256 (hex) of every file actually in the folder except plugin.json and plugin.sig. */
  fileHashes: Readonly<Record<string, string>>;
  keyring: Keyring;
  revocations: Revocations;
  /** Used to name the plugin before its manifest is read (usually the folder). */
  label: string;
}

/** A plugin that passed every check. */
export interface VerifiedPlugin {
  manifest: PluginManifest;
  /** The name the keyring gives its publisher. */
  publisherName: string;
}

/**
 * Check, in order: manifest present and JSON; signed (plugin.sig present); manifest valid;
 * plugin.sig well-formed; signed by the manifest's publisher; publisher key not revoked;
 * publisher trusted; version not revoked; files unchanged, none added, none removed; host new
 * enough. Throws a `PluginError` for the first failure.
 */
export async function verifyPlugin(input: VerifyInput): Promise<VerifiedPlugin> {
  const { label } = input;
  if (input.manifestText === null) {
    throw new PluginError("invalid-manifest", label, `no ${MANIFEST_FILE}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(input.manifestText);
  } catch (e) {
    throw new PluginError(
      "invalid-manifest",
      label,
      `${MANIFEST_FILE} is not JSON: ${(e as Error).message}`,
    );
  }
  const early = nameOf(raw) ?? label;
  if (input.signatureText === null) {
    throw new PluginError("unsigned", early, `unsigned: no ${SIGNATURE_FILE}`);
  }
  const manifest = parseManifest(input.manifestText, label);
  const name = manifest.name;
  const id = `${name}@${manifest.version}`;

  let sigJson: unknown;
  try {
    sigJson = JSON.parse(input.signatureText);
  } catch {
    throw new PluginError("bad-signature", name, `${SIGNATURE_FILE} is not JSON`);
  }
  const sigParsed = PluginSignature.safeParse(sigJson);
  if (!sigParsed.success) {
    throw new PluginError("bad-signature", name, `${SIGNATURE_FILE} is malformed`);
  }
  const sig = sigParsed.data;
  const payload = signingPayload(manifest);
  const sigBytes = unb64url(sig.sig);
  if (sig.publisher !== manifest.publisher) {
    const byOther = await verifyDid(sig.publisher, payload, sigBytes);
    throw new PluginError(
      "wrong-key",
      name,
      byOther
        ? `signed by ${sig.publisher}, not by the manifest's publisher ${manifest.publisher}`
        : `${SIGNATURE_FILE} names ${sig.publisher}, not the manifest's publisher ${manifest.publisher}`,
    );
  }
  if (!(await verifyDid(manifest.publisher, payload, sigBytes))) {
    throw new PluginError(
      "bad-signature",
      name,
      `signature does not verify against publisher ${manifest.publisher}: ` +
        `${MANIFEST_FILE} was changed after signing or signed by another key`,
    );
  }
  if (input.revocations.keys.some((k) => k.did === manifest.publisher)) {
    throw new PluginError("revoked-key", name, `publisher key ${manifest.publisher} is revoked`);
  }
  const trusted = input.keyring.publishers.find((p) => p.did === manifest.publisher);
  if (!trusted) {
    throw new PluginError("untrusted", name, `publisher ${manifest.publisher} is not trusted`);
  }
  if (input.revocations.versions.some((r) => r.plugin === id)) {
    throw new PluginError("revoked-version", name, `version ${id} is revoked`);
  }
  const problem = compareFiles(manifest.files, input.fileHashes);
  if (problem) throw new PluginError("tampered", name, `tampered: ${problem}`);
  const host = HOST_VERSION;
  if (compareSemver(host, manifest.minHostVersion) < 0) {
    throw new PluginError(
      "host-too-old",
      name,
      `needs host version ${manifest.minHostVersion} or later; this host is ${host}`,
    );
  }
  return { manifest, publisherName: trusted.name };
}

/** The first difference between signed and actual file hashes, or null. Paths sorted. */
export function compareFiles(
  signed: Readonly<Record<string, string>>,
  actual: Readonly<Record<string, string>>,
): string | null {
  for (const p of Object.keys(signed).sort()) {
    if (!Object.hasOwn(actual, p)) return `file "${p}" was removed since signing`;
    if (actual[p] !== signed[p]) return `file "${p}" was changed since signing`;
  }
  for (const p of Object.keys(actual).sort()) {
    if (!Object.hasOwn(signed, p)) return `file "${p}" was added since signing`;
  }
  return null;
}

/** Refuse installing `next` over an installed higher version. */
export function checkUpgrade(name: string, installed: string | null, next: string): void {
  if (installed !== null && compareSemver(next, installed) < 0) {
    throw new PluginError(
      "downgrade",
      name,
      `downgrade refused: ${next} is lower than the installed ${installed}`,
    );
  }
}
