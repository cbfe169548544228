/**
 * The Cedar engine the runtime injects into governance: the official wasm bindings (the web
 * build, which does no I/O at import), instantiated from bytes read here on the first Cedar
 * call, so hosts and CLIs that never see a `.cedar` source never read the wasm.
 */
import * as cedar from "@cedar-policy/cedar-wasm";
import { type CedarEngine, PolicyError } from "../../governance/mod.ts";

let loaded: CedarEngine | null = null;

/** Read and instantiate the wasm now (once); a failure is one PolicyError line naming the file. */
export function loadCedarEngine(): CedarEngine {
  if (loaded) return loaded;
  const url = new URL("cedar_wasm_bg.wasm", import.meta.resolve("@cedar-policy/cedar-wasm"));
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = Deno.readFileSync(url);
  } catch (e) {
    throw new PolicyError([{
      path: url.pathname,
      line: 1,
      column: 1,
      message: `cannot load the Cedar engine: ${e instanceof Error ? e.message : String(e)}`,
    }]);
  }
  cedar.initSync({ module: bytes });
  return loaded = cedar;
}

/** The Cedar engine for `CompileOptions.cedarEngine` (loads the wasm on first use). */
export const cedarEngine: CedarEngine = {
  policySetTextToParts: (text) => loadCedarEngine().policySetTextToParts(text),
  policyToJson: (policy) => loadCedarEngine().policyToJson(policy),
  validate: (call) => loadCedarEngine().validate(call),
  preparsePolicySet: (id, set) => loadCedarEngine().preparsePolicySet(id, set),
  statefulIsAuthorized: (call) => loadCedarEngine().statefulIsAuthorized(call),
};
