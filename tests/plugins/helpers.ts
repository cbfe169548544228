/** Test helpers: a temp copy of the example plugin, keys, and a temp plugin store. */
import { join } from "node:path";
import { type Signer, signerFromKeyPair } from "../../governance/identity/sign.ts";
import { PluginError, type PluginErrorCode } from "../../governance/plugins/mod.ts";
import { PluginStore } from "../../runtime/plugins/mod.ts";

export const EXAMPLE = new URL("../../examples/plugins/weather/", import.meta.url).pathname;

export async function newSigner(): Promise<Signer> {
  const kp = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  return signerFromKeyPair(kp as CryptoKeyPair);
}

/**
 * A temp copy of the weather example (or of `from`), optionally with edits to its manifest
 * template.
 */
export async function copyExample(
  root: string,
  name = "weather",
  edit: (m: Record<string, unknown>) => void = () => {},
  from = EXAMPLE,
): Promise<string> {
  const dir = join(root, `src-${name}-${crypto.randomUUID().slice(0, 8)}`);
  await Deno.mkdir(dir, { recursive: true });
  for (const f of ["plugin.json", "main.ts"]) {
    await Deno.copyFile(join(from, f), join(dir, f));
  }
  const m = JSON.parse(await Deno.readTextFile(join(dir, "plugin.json")));
  // A template, whatever the source folder went through: someone may have signed it
  // (README's plugin steps), which fills in their publisher and the file hashes.
  delete m.publisher;
  delete m.files;
  edit(m);
  await Deno.writeTextFile(join(dir, "plugin.json"), JSON.stringify(m, null, 2));
  return dir;
}

export async function tempStore(): Promise<{ root: string; store: PluginStore }> {
  const root = await Deno.makeTempDir({ prefix: "warden-plugins-" });
  return { root, store: new PluginStore(join(root, "state")) };
}

/** Await `p` and assert it rejects with a PluginError of `code` whose message matches. */
export async function refuses(
  p: Promise<unknown> | (() => unknown),
  code: PluginErrorCode,
  message: RegExp,
): Promise<void> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (!(e instanceof PluginError)) throw e;
    if (e.code !== code || !message.test(e.message)) {
      throw new Error(`expected ${code} matching ${message}, got ${e.code}: ${e.message}`);
    }
    return;
  }
  throw new Error(`expected a ${code} refusal, but it succeeded`);
}
