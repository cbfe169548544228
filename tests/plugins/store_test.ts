import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { compareSemver } from "../../governance/plugins/mod.ts";
import { signPluginFolder, verifyInstalled } from "../../runtime/plugins/mod.ts";
import { copyExample, newSigner, refuses, tempStore } from "./helpers.ts";

Deno.test("semver compares numerically", () => {
  assertEquals(compareSemver("1.10.0", "1.9.9"), 1);
  assertEquals(compareSemver("0.1.0", "0.1.0"), 0);
  assertEquals(compareSemver("2.0.0", "10.0.0"), -1);
});

Deno.test("install, list, verifyInstalled (manifest, entry, validators), remove", async () => {
  const { root, store } = await tempStore();
  const signer = await newSigner();
  store.trust(signer.did, "acme");
  const dir = await copyExample(root);
  await signPluginFolder(dir, signer);
  const { name, record } = await store.install(dir, { ring: 2 });
  assertEquals([name, record.version, record.publisher, record.ring], [
    "weather",
    "1.0.0",
    signer.did,
    2,
  ]);
  assertEquals(Object.keys(store.installed()), ["weather"]);
  const p = await verifyInstalled(store.state, "weather");
  assertEquals([p.ring, p.publisherName, p.entryPath], [
    2,
    "acme",
    join(store.root, "installed", "weather", "main.ts"),
  ]);
  assertEquals(p.validators.forecast.safeParse({ city: "Oslo", days: 3 }).success, true);
  assertEquals(p.validators.forecast.safeParse({ city: "Oslo", days: 9 }).success, false);
  assertEquals(p.validators.forecast.safeParse({ city: "" }).success, false);
  assertEquals(p.validators.forecast.safeParse({ days: 1 }).success, false);
  assertEquals(p.validators.forecast.safeParse({ city: "x", units: "kelvin" }).success, false);
  assertEquals(p.validators.forecast.safeParse({ city: "x", extra: 1 }).success, false);
  const mod = await import(p.entryUrl);
  assertEquals(mod.tools.forecast({ city: "Oslo", days: 2 }).days.length, 2);

  // tampering with the installed copy is caught at load
  await Deno.writeTextFile(join(p.dir, "main.ts"), "export const tools = {};\n");
  await refuses(
    verifyInstalled(store.state, "weather"),
    "tampered",
    /^plugin "weather": tampered: file "main\.ts" was changed since signing$/,
  );

  store.remove("weather");
  assertEquals(store.installed(), {});
  await refuses(verifyInstalled(store.state, "weather"), "not-installed", /not installed/);
  await refuses(
    () => store.remove("weather"),
    "not-installed",
    /^plugin "weather": not installed$/,
  );
  await Deno.remove(root, { recursive: true });
});
