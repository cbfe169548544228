/**
 * The plugin trust store and install directory under `<state>/plugins/`:
 * - `keyring.json` — trusted publisher dids with names
 * - `revoked.json` — revoked publisher keys and revoked `name@version`s
 * - `installed/<name>/` — a verified copy of the plugin folder
 * - `installed.json` — name → { version, publisher, ring, installedAt }
 *
 * Every install verifies the copied folder (not the source, so the source cannot change between
 * check and copy); `verifyInstalled` re-verifies against the current keyring and revocations
 * before the host loads a plugin.
 */
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { publicKeyFromDid } from "../../governance/identity/did.ts";
import {
  checkUpgrade,
  EMPTY_KEYRING,
  Keyring,
  NO_REVOCATIONS,
  parseRelease,
  PLUGIN_NAME_RE,
  PluginError,
  type PluginManifest,
  Revocations,
  toolValidators,
  verifyPlugin,
} from "../../governance/plugins/mod.ts";
import type { Ring } from "../../governance/rings/mod.ts";
import { wardenHome } from "../state.ts";
import { listFiles, readPluginFolder } from "./folder.ts";

/** One installed plugin's record in installed.json. */
export const InstalledRecord = z.strictObject({
  version: z.string(),
  publisher: z.string(),
  ring: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]),
  installedAt: z.string(),
});
export type InstalledRecord = z.infer<typeof InstalledRecord>;

/** `installed.json`. */
export const InstalledIndex = z.record(z.string(), InstalledRecord);
export type InstalledIndex = z.infer<typeof InstalledIndex>;

/** A verified, installed plugin: what the host needs to load it. */
export interface LoadablePlugin {
  name: string;
  /** The verified manifest (capabilities, tools, version, publisher …). */
  manifest: PluginManifest;
  /** The keyring's name for the publisher. */
  publisherName: string;
  /** The ring the operator installed it at. */
  ring: Ring;
  /** The installed folder (absolute). */
  dir: string;
  /** The entry module's absolute path and file URL. */
  entryPath: string;
  entryUrl: string;
  /** Tool name → zod validator of its arguments. */
  validators: Record<string, z.ZodType>;
}

/** The default ring for an install without `--ring`: the least privileged. */
export const DEFAULT_PLUGIN_RING: Ring = 3;

function readJson<T>(path: string, schema: z.ZodType<T>, empty: T): T {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return structuredClone(empty);
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new PluginError("invalid-store", path, "not JSON");
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new PluginError("invalid-store", path, r.error.issues[0].message);
  return r.data;
}

function writeJson(path: string, value: unknown): void {
  Deno.mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(value, null, 2) + "\n");
  Deno.renameSync(tmp, path);
}

function copyTree(src: string, dst: string, label: string): void {
  Deno.mkdirSync(dst, { recursive: true });
  for (const f of listFiles(src, label)) {
    const to = join(dst, f);
    Deno.mkdirSync(dirname(to), { recursive: true });
    Deno.writeFileSync(to, Deno.readFileSync(join(src, f)));
  }
}

function removeIfExists(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** The plugin store of one state directory. */
export class PluginStore {
  readonly root: string;
  constructor(readonly state: string = wardenHome()) {
    this.root = join(state, "plugins");
  }

  get keyringPath(): string {
    return join(this.root, "keyring.json");
  }
  get revokedPath(): string {
    return join(this.root, "revoked.json");
  }
  get indexPath(): string {
    return join(this.root, "installed.json");
  }
  /** `<state>/plugins/installed/<name>`. */
  installDir(name: string): string {
    if (!PLUGIN_NAME_RE.test(name)) {
      throw new PluginError("not-installed", name, "not a valid plugin name");
    }
    return join(this.root, "installed", name);
  }

  keyring(): Keyring {
    return readJson(this.keyringPath, Keyring, EMPTY_KEYRING);
  }
  revocations(): Revocations {
    return readJson(this.revokedPath, Revocations, NO_REVOCATIONS);
  }
  installed(): InstalledIndex {
    return readJson(this.indexPath, InstalledIndex, {});
  }

  /** Trust a publisher (replacing its name if already trusted). */
  trust(did: string, name = did, now = new Date()): void {
    publicKeyFromDid(did); // throws on a bad did
    const k = this.keyring();
    k.publishers = k.publishers.filter((p) => p.did !== did);
    k.publishers.push({ did, name, addedAt: now.toISOString() });
    writeJson(this.keyringPath, k);
  }

  /** Revoke a publisher key (`did:key:…`) or one release (`name@x.y.z`). */
  revoke(target: string, now = new Date()): "key" | "version" {
    const r = this.revocations();
    const at = now.toISOString();
    if (target.startsWith("did:")) {
      publicKeyFromDid(target);
      if (!r.keys.some((k) => k.did === target)) r.keys.push({ did: target, revokedAt: at });
      writeJson(this.revokedPath, r);
      return "key";
    }
    if (!parseRelease(target)) {
      throw new Error(`expected a did:key or name@x.y.z, got "${target}"`);
    }
    if (!r.versions.some((v) => v.plugin === target)) {
      r.versions.push({ plugin: target, revokedAt: at });
    }
    writeJson(this.revokedPath, r);
    return "version";
  }

  /** Verify a plugin folder against this store's keyring and revocations. */
  async verify(dir: string, label = dir) {
    const folder = await readPluginFolder(dir, label);
    return verifyPlugin({
      ...folder,
      keyring: this.keyring(),
      revocations: this.revocations(),
      label,
    });
  }

  /** Verify, refuse downgrades, and copy the folder into `installed/<name>`. */
  async install(
    src: string,
    options: { ring?: Ring; now?: Date } = {},
  ): Promise<{ name: string; record: InstalledRecord }> {
    const ring = options.ring ?? DEFAULT_PLUGIN_RING;
    Deno.mkdirSync(join(this.root, "installed"), { recursive: true });
    const staging = join(this.root, "installed", `.staging-${crypto.randomUUID()}`);
    try {
      try {
        copyTree(src, staging, src);
      } catch (e) {
        if (e instanceof PluginError) throw e;
        if (e instanceof Deno.errors.NotFound) {
          throw new PluginError("invalid-folder", src, `no such folder ${src}`);
        }
        throw new PluginError("invalid-folder", src, (e as Error).message);
      }
      const { manifest } = await this.verify(staging, src);
      const index = this.installed();
      checkUpgrade(manifest.name, index[manifest.name]?.version ?? null, manifest.version);
      const target = this.installDir(manifest.name);
      const old = `${target}.old-${crypto.randomUUID()}`;
      let moved = false;
      try {
        Deno.renameSync(target, old);
        moved = true;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      Deno.renameSync(staging, target);
      if (moved) removeIfExists(old);
      const record: InstalledRecord = {
        version: manifest.version,
        publisher: manifest.publisher,
        ring,
        installedAt: (options.now ?? new Date()).toISOString(),
      };
      index[manifest.name] = record;
      writeJson(this.indexPath, index);
      return { name: manifest.name, record };
    } finally {
      removeIfExists(staging);
    }
  }

  /** Remove an installed plugin; throws `not-installed` when it is not. */
  remove(name: string): void {
    const index = this.installed();
    if (!Object.hasOwn(index, name)) {
      throw new PluginError("not-installed", name, "not installed");
    }
    removeIfExists(this.installDir(name));
    delete index[name];
    writeJson(this.indexPath, index);
  }

  /** Re-verify an installed plugin and return what the host needs to load it. */
  async verifyInstalled(name: string): Promise<LoadablePlugin> {
    const index = this.installed();
    const record = Object.hasOwn(index, name) ? index[name] : undefined;
    if (!record) throw new PluginError("not-installed", name, "not installed");
    const dir = this.installDir(name);
    const { manifest, publisherName } = await this.verify(dir, name);
    if (manifest.name !== name) {
      throw new PluginError(
        "tampered",
        name,
        `tampered: installed folder holds plugin "${manifest.name}"`,
      );
    }
    if (manifest.version !== record.version || manifest.publisher !== record.publisher) {
      throw new PluginError(
        "tampered",
        name,
        `tampered: installed.json records ${record.version} by ${record.publisher}, ` +
          `the folder holds ${manifest.version} by ${manifest.publisher}`,
      );
    }
    const entryPath = join(dir, manifest.entry);
    return {
      name,
      manifest,
      publisherName,
      ring: record.ring,
      dir,
      entryPath,
      entryUrl: pathToFileURL(entryPath).href,
      validators: toolValidators(manifest),
    };
  }
}

/**
 * What the host calls before loading plugin `name`: re-verifies the installed copy against the
 * current keyring and revocations (signature, trust, revocation, every file hash, host
 * version) and returns its manifest, entry module and tool argument validators. Throws a
 * `PluginError` naming the plugin and what failed.
 */
export function verifyInstalled(state: string, name: string): Promise<LoadablePlugin> {
  return new PluginStore(state).verifyInstalled(name);
}
