// Calls the flaky tool five times; prints one line per call (its result, or the error's code).
import { tools, WardenError } from "../../../sdk/mod.ts";

for (let i = 0; i < 5; i++) {
  try {
    console.log(`ok ${await tools.call("flaky", { n: i })}`);
  } catch (e) {
    console.log(`${(e as WardenError).code} ${(e as Error).message.slice(0, 60)}`);
  }
}
