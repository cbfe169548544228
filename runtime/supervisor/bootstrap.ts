/**
 * Trusted bootstrap: the main module of every agent process. Deno does not permission-check
 * the main module's static imports, so this file imports nothing but the SDK channel; it opens
 * the SDK socket (allowed once, before agent code exists), then loads the agent with a
 * computed import() so that every module the agent loads is checked by the broker.
 */
import { attach } from "../../sdk/channel.ts";

const [sdkSocket, agentUrl] = Deno.args;
attach(await Deno.connect({ transport: "unix", path: sdkSocket }));
const mod = await import(agentUrl);
if (typeof mod.default === "function") await mod.default();
