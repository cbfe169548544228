// Asks for the shell tool (require_approval in policies/agents.yaml) and prints the outcome.
import { tools, WardenError } from "../../../sdk/mod.ts";
try {
  const r = await tools.call("shell", { command: "echo approved" });
  console.log(JSON.stringify({ ok: true, r }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, code: (e as WardenError).code }));
}
