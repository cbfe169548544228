/**
 * The host's keystore: Ed25519 private keys in files with 0600 permissions (in a 0700
 * directory), optionally encrypted with a passphrase (PBKDF2-SHA256 → AES-256-GCM). Agents never
 * see these files: they live outside every agent's workspace, and the kernel sandbox and the
 * ring ceilings keep agents out of everything else.
 */
import { join } from "node:path";
import { b64url, type Signer, signerFromKeyPair, unb64url } from "../../governance/identity/mod.ts";
import { wardenHome } from "../state.ts";

interface KeyFile {
  v: 1;
  did: string;
  /** PKCS#8, base64url; or the AES-GCM ciphertext of it when `kdf` is present. */
  pkcs8: string;
  kdf?: { salt: string; iterations: number; iv: string };
}

/** The default keystore directory: <warden home>/keys (see runtime/state.ts). */
export function defaultKeystoreDir(): string {
  return join(wardenHome(), "keys");
}

async function aesKey(
  passphrase: string,
  salt: Uint8Array,
  iterations: number,
): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(passphrase),
    "PBKDF2",
    false,
    [
      "deriveKey",
    ],
  );
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

export class Keystore {
  readonly dir: string;
  readonly #passphrase: string | undefined;
  #cache = new Map<string, Signer>();

  constructor(dir = defaultKeystoreDir(), passphrase?: string) {
    this.dir = dir;
    this.#passphrase = passphrase;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.chmodSync(dir, 0o700);
  }

  #path(name: string): string {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(name)) throw new Error(`invalid key name "${name}"`);
    return join(this.dir, `${name}.key.json`);
  }

  /** Whether the named key exists (without creating it). */
  has(name: string): boolean {
    try {
      return Deno.statSync(this.#path(name)).isFile;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
  }

  /** Load the named key, creating it on first use. */
  async signer(name: string): Promise<Signer> {
    const cached = this.#cache.get(name);
    if (cached) return cached;
    const path = this.#path(name);
    let file: KeyFile | null = null;
    try {
      file = JSON.parse(Deno.readTextFileSync(path)) as KeyFile;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new Error(`${path}: unreadable key file: ${(e as Error).message}`);
      }
    }
    const signer = file ? await this.#load(path, file) : await this.#create(path);
    this.#cache.set(name, signer);
    return signer;
  }

  async #create(path: string): Promise<Signer> {
    const kp = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
      "sign",
      "verify",
    ]) as CryptoKeyPair;
    const signer = await signerFromKeyPair(kp);
    let pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", kp.privateKey));
    const file: KeyFile = { v: 1, did: signer.did, pkcs8: "" };
    if (this.#passphrase !== undefined) {
      const salt = crypto.getRandomValues(new Uint8Array(16));
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const iterations = 310_000;
      const key = await aesKey(this.#passphrase, salt, iterations);
      pkcs8 = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, pkcs8));
      file.kdf = { salt: b64url(salt), iterations, iv: b64url(iv) };
    }
    file.pkcs8 = b64url(pkcs8);
    const tmp = `${path}.${Deno.pid}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(file) + "\n", { mode: 0o600 });
    Deno.chmodSync(tmp, 0o600);
    Deno.renameSync(tmp, path);
    return signer;
  }

  async #load(path: string, file: KeyFile): Promise<Signer> {
    const mode = Deno.statSync(path).mode;
    if (mode !== null && (mode & 0o077) !== 0) {
      throw new Error(
        `${path}: key file permissions are ${(mode & 0o777).toString(8)}, expected 600`,
      );
    }
    let pkcs8 = unb64url(file.pkcs8);
    if (file.kdf) {
      if (this.#passphrase === undefined) {
        throw new Error(`${path}: key is encrypted; a passphrase is required`);
      }
      const key = await aesKey(this.#passphrase, unb64url(file.kdf.salt), file.kdf.iterations);
      try {
        pkcs8 = new Uint8Array(
          await crypto.subtle.decrypt(
            { name: "AES-GCM", iv: unb64url(file.kdf.iv) as BufferSource },
            key,
            pkcs8 as BufferSource,
          ),
        );
      } catch {
        throw new Error(`${path}: wrong passphrase`);
      }
    }
    const privateKey = await crypto.subtle.importKey(
      "pkcs8",
      pkcs8 as BufferSource,
      { name: "Ed25519" },
      true,
      ["sign"],
    );
    const jwk = await crypto.subtle.exportKey("jwk", privateKey);
    const publicKey = await crypto.subtle.importKey(
      "jwk",
      { kty: jwk.kty, crv: jwk.crv, x: jwk.x },
      { name: "Ed25519" },
      true,
      ["verify"],
    );
    const signer = await signerFromKeyPair({ privateKey, publicKey });
    if (signer.did !== file.did) {
      throw new Error(`${path}: key does not match its recorded did ${file.did}`);
    }
    return signer;
  }
}
