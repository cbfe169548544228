// Prints one line `PROBE <json>`: the arguments it was given, what `env.get` answers for a few
// names, what its real process environment shows, and whether an argument became a Deno flag.
import { env, WardenError } from "../../../../sdk/mod.ts";

async function sdkEnv(name: string): Promise<unknown> {
  try {
    return { value: await env.get(name) };
  } catch (e) {
    return e instanceof WardenError ? { code: e.code, rule: e.rule } : { error: String(e) };
  }
}

function processEnv(name: string): unknown {
  try {
    return { value: Deno.env.get(name) ?? null };
  } catch (e) {
    return { error: (e as Error).name };
  }
}

function spawned(): string {
  try {
    new Deno.Command("/bin/true").outputSync();
    return "spawned";
  } catch (e) {
    return (e as Error).name;
  }
}

const names = ["WARDEN_TASK", "LANG", "SECRET_TOKEN", "__proto__"];
const report = {
  args: Deno.args,
  sdk: Object.fromEntries(await Promise.all(names.map(async (n) => [n, await sdkEnv(n)]))),
  process: Object.fromEntries(names.map((n) => [n, processEnv(n)])),
  runPermission: Deno.permissions.querySync({ name: "run" }).state,
  readRoot: Deno.permissions.querySync({ name: "read", path: "/" }).state,
  spawn: spawned(),
};
console.log(`PROBE ${JSON.stringify(report)}`);
