/**
 * Rings: four privilege levels with ceilings in Deno's permission vocabulary.
 * @module
 */
export {
  compileRings,
  type Ring,
  RingCeiling,
  RingCeilings,
  ringFlags,
  RINGS,
  RingsDocument,
} from "./ceiling.ts";
