/**
 * What Node-style libraries do at load: probe variables that are not set, ask for the home
 * directory and the temp directory. Under Warden none of it may crash the program.
 */
import os from "node:os";
import process from "node:process";
import { attempt, done } from "./_attempt.ts";

const shown = (v: unknown) => v === undefined ? "undefined" : String(v);
await attempt("Deno.env.get(unset)", () => shown(Deno.env.get("WARDEN_SURELY_UNSET")));
await attempt("process.env.FORCE_COLOR", () => shown(process.env.FORCE_COLOR));
await attempt("'TF_BUILD' in process.env", () => String("TF_BUILD" in process.env));
await attempt("Deno.env.has(LANGSMITH_TRACING)", () => String(Deno.env.has("LANGSMITH_TRACING")));
await attempt("os.homedir()", () => os.homedir());
await attempt("Deno.env.get(HOME)", () => shown(Deno.env.get("HOME")));
await attempt("os.tmpdir()", () => os.tmpdir());
await attempt("os.hostname()", () => os.hostname());
await attempt("write in HOME", () => {
  Deno.mkdirSync(`${os.homedir()}/.cache/lib`, { recursive: true });
  Deno.writeTextFileSync(`${os.homedir()}/.cache/lib/x`, "ok");
  return "written";
});
// Set by the operator, not allowed by the policy: a real refusal of a value the process has.
await attempt("Deno.env.get(OPERATOR_SECRET)", () => shown(Deno.env.get("OPERATOR_SECRET")));
// An enumeration would reveal OPERATOR_SECRET, which the policy does not allow: refused.
await attempt("Object.keys(process.env)", () => Object.keys(process.env).join(","));
// Denied by a rule with a severity: the policy opts into throwing (and it counts).
await attempt("Deno.env.get(TRAP_VAR)", () => shown(Deno.env.get("TRAP_VAR")));
done();
