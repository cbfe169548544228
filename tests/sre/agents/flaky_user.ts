// Calls the flaky tool until the host stops it; prints one line per call.
import { tools, WardenError } from "../../../sdk/mod.ts";

for (let i = 0; i < 400; i++) {
  try {
    await tools.call("flaky", { n: i });
    console.log("ok");
  } catch (e) {
    console.log(`${(e as WardenError).code} ${(e as Error).message.slice(0, 60)}`);
  }
  await new Promise((r) => setTimeout(r, 5));
}
