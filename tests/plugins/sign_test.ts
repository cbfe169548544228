/**
 * `plugin sign` writes a stable, readable manifest (pretty JSON, the schema's key order, files
 * sorted; re-signing gives the same bytes), fills `publisher` only when the template has none,
 * and tests never depend on the tracked example staying unsigned: a folder someone signed (as
 * README's steps do) still serves as the template of a temp copy signed by another key.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { ManifestTemplate } from "../../governance/plugins/mod.ts";
import { signPluginFolder } from "../../runtime/plugins/mod.ts";
import { copyExample, newSigner, refuses, tempStore } from "./helpers.ts";

/** The order an author reads in the template's schema (README shows the same). */
const ORDER = Object.keys(ManifestTemplate.shape);

Deno.test("sign: pretty JSON in the schema's key order, files sorted, stable across re-signing", async () => {
  const { root, store } = await tempStore();
  const signer = await newSigner();
  store.trust(signer.did, "acme");
  const dir = await copyExample(root);
  await Deno.writeTextFile(join(dir, "b.txt"), "b");
  await Deno.writeTextFile(join(dir, "a.txt"), "a");
  await signPluginFolder(dir, signer);
  const first = await Deno.readTextFile(join(dir, "plugin.json"));
  const m = JSON.parse(first);
  assertEquals(first, JSON.stringify(m, null, 2) + "\n");
  assertEquals(Object.keys(m), ORDER);
  assertEquals(Object.keys(m.files), ["a.txt", "b.txt", "main.ts"]);
  assertEquals(m.publisher, signer.did);
  // nested keys keep the order the example is written in
  const template = JSON.parse(
    await Deno.readTextFile(new URL("../../examples/plugins/weather/plugin.json", import.meta.url)),
  );
  assertEquals(Object.keys(m.capabilities), Object.keys(template.capabilities));
  await signPluginFolder(dir, signer);
  assertEquals(await Deno.readTextFile(join(dir, "plugin.json")), first);
  await store.install(dir);
  await Deno.remove(root, { recursive: true });
});

Deno.test("sign: a template naming another publisher is refused, and the folder is left as it was", async () => {
  const { root } = await tempStore();
  const [a, b] = [await newSigner(), await newSigner()];
  const dir = await copyExample(root);
  await signPluginFolder(dir, a);
  const before = await Deno.readTextFile(join(dir, "plugin.json"));
  await refuses(signPluginFolder(dir, b), "wrong-key", /names publisher .* but the key is/);
  assertEquals(await Deno.readTextFile(join(dir, "plugin.json")), before);
  await Deno.remove(root, { recursive: true });
});

Deno.test("tests copy a signed folder as an unsigned template: signing the example does not break them", async () => {
  const { root, store } = await tempStore();
  const [readers, tests] = [await newSigner(), await newSigner()];
  // what README's steps do to a folder: sign it with the reader's own key
  const signedByReader = await copyExample(root);
  await signPluginFolder(signedByReader, readers);
  // a test that copies that folder signs its copy with its own key
  const copy = await copyExample(root, "weather", () => {}, signedByReader);
  await signPluginFolder(copy, tests);
  store.trust(tests.did, "tests");
  const { record } = await store.install(copy);
  assertEquals(record.publisher, tests.did);
  await Deno.remove(root, { recursive: true });
});
