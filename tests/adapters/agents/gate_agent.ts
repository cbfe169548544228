/**
 * The adapters' gate under a real host (no framework, so no bundle): each attempt reports what
 * the gate returned or threw, and `ran` lists the local implementations that actually ran.
 */
import { emit } from "../../../sdk/mod.ts";
import { type ToolGate, toolGate, WardenToolError } from "../../../sdk/adapters/gate.ts";

const results: Record<string, unknown> = {};
const ran: string[] = [];

async function attempt(label: string, gate: ToolGate, input: unknown, local: () => unknown) {
  try {
    results[label] = { ok: await gate.run(input, local) };
  } catch (e) {
    results[label] = e instanceof WardenToolError
      ? { refused: e.message, code: e.code, rule: e.rule }
      : { threw: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

await attempt("allowed", toolGate("lookup"), { id: 7 }, () => {
  ran.push("allowed");
  return "found 7";
});
await attempt("own-error", toolGate("lookup"), { id: 8 }, () => {
  ran.push("own-error");
  throw new RangeError("no such id 8");
});
await attempt("args-decide", toolGate("lookup"), { id: 500 }, () => ran.push("args-decide"));
await attempt("denied", toolGate("drop_table"), { table: "users" }, () => ran.push("denied"));
await attempt("approval", toolGate("deploy"), { env: "prod" }, () => ran.push("approval"));
await attempt(
  "renamed",
  toolGate("cleanup", { name: "drop_table" }),
  {},
  () => ran.push("renamed"),
);
await attempt("host", toolGate("noop", { mode: "host" }), {}, () => ran.push("host"));
await attempt("host-invalid", toolGate("noop", { mode: "host" }), { x: 1 }, () => ran.push("hi"));
await attempt("unlisted", toolGate("format_disk"), "sda", () => ran.push("unlisted"));

await emit({ results, ran });
