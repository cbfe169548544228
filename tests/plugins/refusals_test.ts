import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { b64url } from "../../governance/identity/sign.ts";
import { HOST_VERSION, parseManifest, signingPayload } from "../../governance/plugins/mod.ts";
import { manifestText, signPluginFolder } from "../../runtime/plugins/mod.ts";
import { copyExample, newSigner, refuses, tempStore } from "./helpers.ts";

async function signedSetup(edit?: (m: Record<string, unknown>) => void) {
  const { root, store } = await tempStore();
  const signer = await newSigner();
  const dir = await copyExample(root, "weather", edit);
  await signPluginFolder(dir, signer);
  store.trust(signer.did, "acme");
  return { root, store, signer, dir };
}

Deno.test("a signed, trusted, intact plugin verifies", async () => {
  const { root, store, dir, signer } = await signedSetup();
  const v = await store.verify(dir);
  assertEquals([v.manifest.name, v.manifest.publisher, v.publisherName], [
    "weather",
    signer.did,
    "acme",
  ]);
  assertEquals(Object.keys(v.manifest.files), ["main.ts"]);
  // plugin.json is written readable and stable (issue 18; the signature covers canonical JSON)
  const text = await Deno.readTextFile(join(dir, "plugin.json"));
  assertEquals(text, manifestText(parseManifest(text)));
  await Deno.remove(root, { recursive: true });
});

Deno.test("refused: unsigned plugin", async () => {
  const { root, store } = await tempStore();
  const dir = await copyExample(root);
  await refuses(store.install(dir), "unsigned", /^plugin "weather": unsigned: no plugin\.sig$/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("refused: a file changed since signing (named)", async () => {
  const { root, store, dir } = await signedSetup();
  await Deno.writeTextFile(join(dir, "main.ts"), "export const tools = {};\n");
  await refuses(
    store.install(dir),
    "tampered",
    /^plugin "weather": tampered: file "main\.ts" was changed since signing$/,
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("refused: a file added since signing (named)", async () => {
  const { root, store, dir } = await signedSetup();
  await Deno.mkdir(join(dir, "lib"));
  await Deno.writeTextFile(join(dir, "lib", "extra.ts"), "export {};\n");
  await refuses(store.install(dir), "tampered", /file "lib\/extra\.ts" was added since signing$/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("refused: a file removed since signing (named)", async () => {
  const { root, store } = await tempStore();
  const signer = await newSigner();
  const dir = await copyExample(root);
  await Deno.writeTextFile(join(dir, "README.md"), "weather\n");
  await signPluginFolder(dir, signer);
  store.trust(signer.did);
  await Deno.remove(join(dir, "README.md"));
  await refuses(store.install(dir), "tampered", /file "README\.md" was removed since signing$/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("refused: a symlink in the folder", async () => {
  const { root, store, dir } = await signedSetup();
  await Deno.symlink("/etc/passwd", join(dir, "link"));
  await refuses(store.install(dir), "invalid-folder", /"link" is a symlink/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("refused: the manifest edited after signing", async () => {
  const { root, store, dir } = await signedSetup();
  const m = JSON.parse(await Deno.readTextFile(join(dir, "plugin.json")));
  m.capabilities.net = true;
  await Deno.writeTextFile(join(dir, "plugin.json"), JSON.stringify(m));
  await refuses(store.install(dir), "bad-signature", /signature does not verify/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("refused: signed by a key that is not the manifest's publisher", async () => {
  const { root, store, dir, signer } = await signedSetup();
  const other = await newSigner();
  store.trust(other.did, "other");
  const manifest = parseManifest(await Deno.readTextFile(join(dir, "plugin.json")));
  const sig = b64url(await other.sign(signingPayload(manifest)));
  await Deno.writeTextFile(
    join(dir, "plugin.sig"),
    JSON.stringify({ v: 1, publisher: other.did, sig }),
  );
  await refuses(
    store.install(dir),
    "wrong-key",
    new RegExp(`signed by ${other.did}, not by the manifest's publisher ${signer.did}`),
  );
  // the same signature claimed to be the publisher's does not verify either
  await Deno.writeTextFile(
    join(dir, "plugin.sig"),
    JSON.stringify({ v: 1, publisher: signer.did, sig }),
  );
  await refuses(store.install(dir), "bad-signature", /does not verify against publisher/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("refused: untrusted publisher", async () => {
  const { root, store } = await tempStore();
  const signer = await newSigner();
  const dir = await copyExample(root);
  await signPluginFolder(dir, signer);
  await refuses(
    store.install(dir),
    "untrusted",
    new RegExp(`^plugin "weather": publisher ${signer.did} is not trusted$`),
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("refused: revoked key, at install and at load", async () => {
  const { root, store, dir, signer } = await signedSetup();
  await store.install(dir);
  await store.verifyInstalled("weather");
  store.revoke(signer.did);
  await refuses(store.install(dir), "revoked-key", /publisher key .* is revoked/);
  await refuses(store.verifyInstalled("weather"), "revoked-key", /^plugin "weather": /);
  await Deno.remove(root, { recursive: true });
});

Deno.test("refused: revoked version, at install and at load", async () => {
  const { root, store, dir } = await signedSetup();
  await store.install(dir);
  store.revoke("weather@1.0.0");
  await refuses(store.install(dir), "revoked-version", /version weather@1\.0\.0 is revoked/);
  await refuses(store.verifyInstalled("weather"), "revoked-version", /weather@1\.0\.0/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("refused: downgrade (versions compare numerically)", async () => {
  const { root, store } = await tempStore();
  const signer = await newSigner();
  store.trust(signer.did);
  const v10 = await copyExample(root, "weather", (m) => (m.version = "1.10.0"));
  const v9 = await copyExample(root, "weather", (m) => (m.version = "1.9.0"));
  await signPluginFolder(v10, signer);
  await signPluginFolder(v9, signer);
  await store.install(v10);
  await refuses(
    store.install(v9),
    "downgrade",
    /^plugin "weather": downgrade refused: 1\.9\.0 is lower than the installed 1\.10\.0$/,
  );
  await store.install(v10); // same version again is fine
  assertEquals(store.installed().weather.version, "1.10.0");
  await Deno.remove(root, { recursive: true });
});

Deno.test("refused: host version too old", async () => {
  const { root, store, dir } = await signedSetup((m) => (m.minHostVersion = "0.10.0"));
  await refuses(
    store.install(dir),
    "host-too-old",
    new RegExp(`needs host version 0\\.10\\.0 or later; this host is ${HOST_VERSION}`),
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("refused: invalid manifest, with the field named and no position", async () => {
  const { root, store, dir } = await signedSetup();
  const m = JSON.parse(await Deno.readTextFile(join(dir, "plugin.json")));
  m.version = "1.0";
  await Deno.writeTextFile(join(dir, "plugin.json"), JSON.stringify(m));
  await refuses(
    store.install(dir),
    "invalid-manifest",
    /^plugin "weather": invalid plugin\.json: version: expected a semver version x\.y\.z such as "1\.2\.0"$/,
  );
  const cases: [(m: Record<string, unknown>) => void, RegExp][] = [
    [(m) => (m.capabilities = { net: "yes" }), /capabilities\.net: expected true, false or a list/],
    [(m) => (m.capabilities = { sockets: true }), /unknown field "capabilities\.sockets"/],
    [(m) => delete m.entry, /missing required field "entry"/],
    [(m) => (m.name = "Weather"), /name: expected lowercase letters/],
    [(m) => (m.entry = "../x.ts"), /entry: expected a relative path inside the plugin folder/],
    [
      (m) => ((m.tools as Record<string, { args: unknown }>).forecast.args = { type: "string" }),
      /tools\.forecast\.args: tool arguments must be a schema of type "object"/,
    ],
    [
      (m) => ((m.tools as Record<string, { args: unknown }>).forecast.args = {
        type: "object",
        properties: { a: { type: "string", pattern: "x" } },
      }),
      /unknown field "tools\.forecast\.args\.properties\.a\.pattern"/,
    ],
  ];
  const signer = await newSigner();
  for (const [edit, re] of cases) {
    const d = await copyExample(root, "weather", edit);
    await refuses(signPluginFolder(d, signer), "invalid-manifest", re);
  }
  await Deno.remove(root, { recursive: true });
});
