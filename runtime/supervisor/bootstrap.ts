/**
 * Trusted bootstrap: the main module of every agent process. Deno does not permission-check
 * the main module's static imports, so this file imports nothing but the SDK channel and the
 * Node compatibility (node_fs_compat.ts and its two shims, node_require_compat.ts: they
 * import nothing else); it opens the SDK socket (allowed once, before agent code exists),
 * then loads the agent with a computed import() so that every module the agent loads is
 * checked by the broker.
 *
 * Arguments: the SDK socket, the agent's URL, the argv mode, then the agent's own arguments.
 * `Deno.args` shows the agent only its own. In "node" mode (bundled agents and MCP servers,
 * Node-style code) `process.argv` is rewritten too, as if the agent were the main script;
 * plain agents stay in "deno" mode, because loading node:process slows every start-up (the
 * `host.spawn` row of `deno task bench --only host` shows it). "node" mode (also any agent
 * whose graph imports `node:fs`, `node:module` or an `npm:` package) installs the compatible
 * file refusals (node_fs_compat.ts: a refused path answers like the OS, not with Deno's
 * NotCapable) and
 * lets `require` of the agent's own files resolve without a broker check of its code
 * directory, and extension-less or directory requests go to the module the host resolved
 * (node_require_compat.ts).
 */
import { attach } from "../../sdk/channel.ts";
import { installNodeFsCompat } from "./node_fs_compat.ts";
import { installRequireCompat } from "./node_require_compat.ts";
// What named ESM imports of node:fs bind to (loaded now, before any hook may redirect to them).
import "./node_fs_shim.ts";
import "./node_fs_promises_shim.ts";

/** Keep in step with RUNTIME_ENV_NAMES in spawn.ts (this file imports nothing else). */
const PLUMBING = [
  "DENO_PERMISSION_BROKER_PATH",
  "DENO_DIR",
  "DENO_NO_UPDATE_CHECK",
  "DENO_NO_PROMPT",
];

const [sdkSocket, agentUrl, argvMode, ...rest] = Deno.args;
Object.defineProperty(Deno, "args", { value: Object.freeze(rest), configurable: true });
// "node", or "node:" + the host's require resolutions as JSON (spawn.ts bootstrapNodeMode).
if (argvMode === "node" || argvMode.startsWith("node:")) {
  const { default: process } = await import("node:process");
  process.argv.splice(1, process.argv.length - 1, new URL(agentUrl).pathname, ...rest);
  await installNodeFsCompat();
  await installRequireCompat(argvMode === "node" ? {} : JSON.parse(argvMode.slice(5)));
}
attach(await Deno.connect({ transport: "unix", path: sdkSocket }));
// The runtime's plumbing (read by Deno at start-up) is gone before agent code runs: to the
// agent those variables are unset. Each delete is one check the broker allows once.
for (const name of PLUMBING) Deno.env.delete(name);
const mod = await import(agentUrl);
if (typeof mod.default === "function") await mod.default();
