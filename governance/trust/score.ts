/**
 * Trust scores 0..1000 from real host facts, in five tiers, decaying toward a baseline.
 * Pure: the caller passes the time.
 *
 * Weights (points per event; README "Trust" lists them too):
 *   denied operation −5 · policy violation (a deny by a rule with a severity) low −15,
 *   medium −40, high −100, critical −250 · killed −150 · SLO breach −30: every one counts in
 *   full, however many allowed operations surround it.
 *   Earning is bounded (no trust farming): an allowed operation earns +0.1, only while the score
 *   is within 1 point of the baseline or above (routine allows never repay a penalty: time does)
 *   and at most 5 points per clock hour; a completed saga (an outcome) earns +10, at most 40
 *   points per clock hour.
 * Decay: the distance to the baseline (650) halves every `halfLifeMs` (default 24 h), so old
 * behaviour fades in both directions: forgiveness comes from time and outcomes, not volume.
 */
import { z } from "zod";

export const TRUST_MIN = 0;
export const TRUST_MAX = 1000;
/**
 * New agents start here, in the upper half of "standard": one high-severity violation (−100)
 * leaves them standard, one critical (−250) demotes. Scores decay toward it.
 */
export const TRUST_START = 650;
/** Below this the agent is killed and may not run. */
export const REVOKE_BELOW = 100;

export type Tier = "untrusted" | "probationary" | "standard" | "trusted" | "verified";

/** Tier boundaries: untrusted < 300 ≤ probationary < 500 ≤ standard < 700 ≤ trusted < 900 ≤ verified. */
export function tierOf(score: number): Tier {
  return score >= 900
    ? "verified"
    : score >= 700
    ? "trusted"
    : score >= 500
    ? "standard"
    : score >= 300
    ? "probationary"
    : "untrusted";
}

/** The most privileged ring a tier allows (rings 0 and 1 still need an operator). */
export const TIER_MAX_RING: Readonly<Record<Tier, 0 | 1 | 2 | 3>> = {
  verified: 0,
  trusted: 1,
  standard: 2,
  probationary: 3,
  untrusted: 3,
};

export const Severity = z.enum(["low", "medium", "high", "critical"]);

/** A fact about an agent that moves its trust. */
export const TrustEvent = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("allowed"), at: z.number().finite().min(0) }),
  z.strictObject({ type: z.literal("denied"), at: z.number().finite().min(0) }),
  z.strictObject({
    type: z.literal("violation"),
    severity: Severity,
    at: z.number().finite().min(0),
  }),
  z.strictObject({ type: z.literal("killed"), at: z.number().finite().min(0) }),
  z.strictObject({ type: z.literal("slo_breach"), at: z.number().finite().min(0) }),
  z.strictObject({ type: z.literal("saga_completed"), at: z.number().finite().min(0) }),
]);
export type TrustEvent = z.infer<typeof TrustEvent>;

export const WEIGHTS = {
  allowed: 0.1,
  denied: -5,
  violation: { low: -15, medium: -40, high: -100, critical: -250 },
  killed: -150,
  slo_breach: -30,
  saga_completed: 10,
} as const;

/** What can be earned per window (clock hours by default): earning is bounded, penalties are not. */
export const EARN_LIMITS = {
  windowMs: 3600 * 1000,
  /** Points routine allowed operations may earn per window. */
  allowed: 5,
  /** Points outcomes (completed sagas) may earn per window. */
  outcomes: 40,
  /**
   * Routine allows earn only while the score is at least `baseline - allowGrace`: a penalty
   * must first fade through decay (a −5 denial takes about 2.3 half-lives) before routine work
   * counts again.
   */
  allowGrace: 1,
} as const;

/** Points earned in the current window (`window` = its index: floor(at / windowMs)). */
export interface Earned {
  window: number;
  allowed: number;
  outcomes: number;
}

/** A score and the time it was computed. */
export interface TrustState {
  score: number;
  at: number;
  earned?: Earned;
}

export interface TrustConfig {
  baseline: number;
  halfLifeMs: number;
}

export const DEFAULT_TRUST: TrustConfig = { baseline: TRUST_START, halfLifeMs: 24 * 3600 * 1000 };

const clamp = (x: number) => Math.min(TRUST_MAX, Math.max(TRUST_MIN, x));

/** The score at `now`, decayed toward the baseline. */
export function decayed(s: TrustState, now: number, c: TrustConfig = DEFAULT_TRUST): number {
  const dt = Math.max(0, now - s.at);
  return clamp(c.baseline + (s.score - c.baseline) * Math.pow(0.5, dt / c.halfLifeMs));
}

function weight(e: TrustEvent): number {
  return e.type === "violation" ? WEIGHTS.violation[e.severity] : WEIGHTS[e.type];
}

/** The earnings of the window holding `at` (a new window starts from nothing). */
function earnedAt(s: TrustState, at: number): Earned {
  const window = Math.floor(at / EARN_LIMITS.windowMs);
  const e = s.earned;
  // What was earned is clamped to the limits (a tampered or corrupt record cannot widen them).
  const used = (x: number, cap: number) => Number.isFinite(x) ? Math.min(cap, Math.max(0, x)) : cap;
  return e && e.window === window
    ? {
      window,
      allowed: used(e.allowed, EARN_LIMITS.allowed),
      outcomes: used(e.outcomes, EARN_LIMITS.outcomes),
    }
    : { window, allowed: 0, outcomes: 0 };
}

/**
 * Apply an event. Garbage (NaN, unknown types, negative times, extra keys) is rejected with an
 * error, never folded into a score.
 */
export function applyEvent(
  s: TrustState,
  raw: unknown,
  c: TrustConfig = DEFAULT_TRUST,
): TrustState {
  return applyValidEvent(s, TrustEvent.parse(raw), c);
}

/**
 * `applyEvent` for an event already known to be valid (built by the host, typed as
 * TrustEvent): no schema parse on the decision path. Its time must still be finite.
 */
export function applyValidEvent(
  s: TrustState,
  e: TrustEvent,
  c: TrustConfig = DEFAULT_TRUST,
): TrustState {
  if (!Number.isFinite(e.at) || e.at < 0) throw new Error("a trust event's time is finite");
  if (!Number.isFinite(s.score) || !Number.isFinite(s.at)) throw new Error("corrupt trust state");
  const at = Math.max(s.at, e.at);
  const now = decayed(s, at, c);
  const earned = earnedAt(s, at);
  let delta = weight(e);
  if (e.type === "allowed") {
    // Routine allows never repay a penalty, and earn at most EARN_LIMITS.allowed per window.
    delta = now >= c.baseline - EARN_LIMITS.allowGrace
      ? Math.max(0, Math.min(delta, EARN_LIMITS.allowed - earned.allowed))
      : 0;
    earned.allowed += delta;
  } else if (e.type === "saga_completed") {
    delta = Math.max(0, Math.min(delta, EARN_LIMITS.outcomes - earned.outcomes));
    earned.outcomes += delta;
  }
  return { score: clamp(now + delta), at, earned };
}

const TIER_RANK: Readonly<Record<Tier, number>> = {
  untrusted: 0,
  probationary: 1,
  standard: 2,
  trusted: 3,
  verified: 4,
};

/**
 * The ring after a score change. Falling into a lower tier demotes at once to that tier's most
 * privileged ring (if the agent is above it). Rising into a higher tier may restore an agent
 * only within rings 2..3 and never above the ring the operator assigned: rings 0 and 1 always
 * need an operator's action.
 */
export function ringFor(current: number, assigned: number, before: number, after: number): number {
  const was = TIER_RANK[tierOf(before)], now = TIER_RANK[tierOf(after)];
  const cap = TIER_MAX_RING[tierOf(after)];
  if (now < was) return Math.max(current, cap);
  if (now > was && current >= 2) return Math.min(current, Math.max(assigned, cap, 2));
  return current;
}

/**
 * The ring an agent may start at (or be set to by an operator) with this score: operators
 * assign rings to agents in good standing (standard and above); below "standard" the tier's
 * ceiling applies (probationary and untrusted agents run at ring 3 whatever was asked).
 */
export function ringAtStart(asked: number, score: number): number {
  const tier = tierOf(score);
  return TIER_RANK[tier] < TIER_RANK.standard ? Math.max(asked, TIER_MAX_RING[tier]) : asked;
}
