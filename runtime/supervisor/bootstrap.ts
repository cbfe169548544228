/**
 * Trusted bootstrap: the main module of every agent process. Deno does not permission-check
 * the main module's static imports, so this file imports nothing but the SDK channel (and the
 * built-in node:process); it opens the SDK socket (allowed once, before agent code exists),
 * then loads the agent with a computed import() so that every module the agent loads is
 * checked by the broker. Arguments after the agent's URL are the agent's own: `Deno.args` and
 * `process.argv` show them as if the agent were the main module.
 */
import process from "node:process";
import { attach } from "../../sdk/channel.ts";

const [sdkSocket, agentUrl, ...rest] = Deno.args;
Object.defineProperty(Deno, "args", { value: Object.freeze(rest), configurable: true });
process.argv.splice(1, process.argv.length - 1, new URL(agentUrl).pathname, ...rest);
attach(await Deno.connect({ transport: "unix", path: sdkSocket }));
const mod = await import(agentUrl);
if (typeof mod.default === "function") await mod.default();
