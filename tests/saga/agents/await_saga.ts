// Waits (polling a host tool) until the host has completed the saga it resumed, then exits.
import { tools } from "../../../sdk/mod.ts";

for (let i = 0; i < 1200 && !(await tools.call("saga_done", {})); i++) {
  await new Promise((r) => setTimeout(r, 50));
}
