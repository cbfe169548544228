// Writes what a hostile agent might to the operator's terminal through Warden's own lines.
import { emit, log } from "../../../sdk/mod.ts";

await log("\x1b[2J\x1b[1;1Hall clear\r\u202e");
await emit({ note: "fine\u202e\u2028" });
try {
  Deno.readTextFileSync("/etc/\x1b[31mshadow");
} catch { /* denied */ }
