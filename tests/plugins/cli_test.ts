import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { runDeno } from "../cli/run.ts";
import { copyExample } from "./helpers.ts";

function noStack(s: string) {
  if (/\bat .*:\d+:\d+/.test(s) || s.includes("Stack backtrace")) {
    throw new Error(`stack trace in:\n${s}`);
  }
}

Deno.test("plugin CLI: keygen → sign → trust → install → list → verify; tamper → verify names the file", async () => {
  const root = await Deno.makeTempDir({ prefix: "warden-plugin-cli-" });
  const state = join(root, "state");
  const keys = join(root, "keys");
  const plugin = (...args: string[]) =>
    runDeno(["task", "-q", "plugin", ...args, "--state", state]);
  const dir = await copyExample(root);

  const kg = await plugin("keygen", "acme", "--keystore", keys);
  assertEquals(kg.code, 0, kg.stderr);
  const did = kg.stdout.trim();
  if (!/^did:key:z6Mk\w+$/.test(did)) throw new Error(kg.stdout);

  const sg = await plugin("sign", dir, "--key", "acme", "--keystore", keys);
  assertEquals(sg.code, 0, sg.stderr);

  const untrusted = await plugin("install", dir);
  assertEquals(
    [untrusted.code, untrusted.stderr.trim()],
    [1, `plugin "weather": publisher ${did} is not trusted`],
  );

  assertEquals((await plugin("trust", did, "--name", "Acme")).code, 0);
  const inst = await plugin("install", dir, "--ring", "2");
  assertEquals(
    [inst.code, inst.stdout.trim()],
    [0, "installed weather@1.0.0 at ring 2"],
    inst.stderr,
  );
  const ls = await plugin("list");
  assertEquals(ls.code, 0, ls.stderr);
  if (!ls.stdout.startsWith(`weather\t1.0.0\tring 2\t${did}\t`)) throw new Error(ls.stdout);

  const ok = await plugin("verify", dir);
  assertEquals(ok.code, 0, ok.stderr);
  if (!ok.stdout.startsWith(`ok: weather@1.0.0 signed by ${did} (Acme)`)) {
    throw new Error(ok.stdout);
  }

  await Deno.writeTextFile(join(dir, "main.ts"), "export const tools = {};\n", { append: true });
  const bad = await plugin("verify", dir);
  assertEquals(
    [bad.code, bad.stderr.trim()],
    [1, `plugin "weather": tampered: file "main.ts" was changed since signing`],
  );
  noStack(bad.stderr);

  const rv = await plugin("revoke", "weather@1.0.0");
  assertEquals(rv.code, 0, rv.stderr);
  const rm = await plugin("remove", "weather");
  assertEquals(rm.code, 0, rm.stderr);
  assertEquals((await plugin("list")).stdout, "");

  const usage = await plugin("frobnicate");
  assertEquals(usage.code, 2);
  noStack(usage.stderr);
  const badRing = await plugin("install", dir, "--ring", "7");
  assertEquals(badRing.code, 2);
  const missing = await plugin("verify", join(root, "nope"));
  assertEquals(missing.code, 1);
  noStack(missing.stderr);
  await Deno.remove(root, { recursive: true });
});
