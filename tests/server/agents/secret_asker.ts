// Asks for a `deploy` tool with a secret among its arguments, and prints the outcome.
import { tools, WardenError } from "../../../sdk/mod.ts";
try {
  const r = await tools.call("deploy", {
    // A right-to-left override and an ANSI "erase line": what the approver reads must not hide them.
    target: "prod\u202egnp.exe\u001b[2K",
    password: "hunter2",
  });
  console.log(JSON.stringify({ ok: true, r }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, code: (e as WardenError).code }));
}
