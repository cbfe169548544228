// Asks for a recursive force delete (a critical violation), then idles.
import { tools } from "../../../sdk/mod.ts";
try {
  await tools.call("shell", { command: "rm -rf /" });
} catch { /* denied */ }
await new Promise((r) => setTimeout(r, 10_000));
