/**
 * Rings: four privilege levels with ceilings in Deno's permission vocabulary.
 * @module
 */
export {
  Capabilities,
  capabilityCeiling,
  compileRings,
  type Ring,
  RingCeiling,
  RingCeilings,
  ringFlags,
  RINGS,
  RingsDocument,
} from "./ceiling.ts";
