// Exercises the SDK and prints one JSON line per call: {call, ok, result | code, rule, message}.
import { env, fs, http, tools, WardenError } from "../../../../sdk/mod.ts";

const task = JSON.parse((await env.get("WARDEN_TASK")) ?? "{}") as { api: string };
const calls: [string, () => Promise<unknown>][] = [
  ["noop", () => tools.call("noop", {})],
  ["rm-rf", () => tools.call("shell", { command: "rm -rf /" })],
  ["shell-ls", () => tools.call("shell", { command: "echo approved-run" })],
  ["bad-args", () => tools.call("search", { query: 42 })],
  ["unknown-tool", () => tools.call("nope", {})],
  ["fetch-ok", async () => (await http.fetch(`${task.api}/api/ping`)).body],
  [
    "fetch-post",
    async () => (await http.fetch(`${task.api}/api/ping`, { method: "POST", body: "x" })).body,
  ],
  ["fetch-other", async () => (await http.fetch(`${task.api}/private`)).body],
  ["write", () => fs.writeText("out/a.txt", "hello")],
  ["read", () => fs.readText("out/a.txt")],
  ["read-escape", () => fs.readText("../../../../../../etc/passwd")],
  ["read-link", () => fs.readText("link-to-secret")],
  ["env-ok", () => env.get("TZ")],
  ["env-denied", () => env.get("HOME")],
];
for (const [call, f] of calls) {
  try {
    console.log(JSON.stringify({ call, ok: true, result: await f() }));
  } catch (e) {
    const w = e as WardenError;
    console.log(
      JSON.stringify({ call, ok: false, code: w.code, rule: w.rule, message: w.message }),
    );
  }
}
