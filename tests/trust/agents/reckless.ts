// Asks for a recursive force delete (a critical violation) five times, then idles.
import { tools } from "../../../sdk/mod.ts";
for (let i = 0; i < 5; i++) {
  try {
    await tools.call("shell", { command: "rm -rf /" });
  } catch { /* denied */ }
}
await new Promise((r) => setTimeout(r, 30_000));
