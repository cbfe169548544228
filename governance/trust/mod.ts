/**
 * Trust: scores 0..1000 in five tiers from host facts, decay, tier → ring.
 * @module
 */
export {
  applyEvent,
  applyValidEvent,
  decayed,
  DEFAULT_TRUST,
  EARN_LIMITS,
  type Earned,
  REVOKE_BELOW,
  ringAtStart,
  ringFor,
  type Tier,
  TIER_MAX_RING,
  tierOf,
  TRUST_START,
  type TrustConfig,
  TrustEvent,
  type TrustState,
  WEIGHTS,
} from "./score.ts";
