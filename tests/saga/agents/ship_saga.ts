// Runs reserve → ship → notify as one saga through the host (its tools are --host-tools).
import { sagas } from "../../../sdk/mod.ts";

const step = (tool: string) => ({
  name: tool,
  action: { tool, args: {} },
  compensation: { tool: "cancel", args: {} },
});
const s = await sagas.run({ name: "ship", steps: ["reserve", "ship", "notify"].map(step) });
console.log(`saga ${s.id}: ${s.status}`);
