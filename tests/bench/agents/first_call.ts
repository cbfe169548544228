// host.spawn: make one SDK request as soon as the agent's code runs.
import { tools } from "../../../sdk/mod.ts";

await tools.call("noop", {});
