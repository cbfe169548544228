/**
 * Compliance: framework requirements mapped to Warden controls; statuses come from live checks.
 * @module
 */
export {
  type ControlId,
  type ControlResult,
  type Requirement,
  REQUIREMENTS,
  requirementStatus,
  type Status,
} from "./controls.ts";
