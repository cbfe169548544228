/**
 * Trust scores 0..1000 from real host facts, in five tiers, decaying toward a baseline.
 * Pure: the caller passes the time.
 *
 * Weights (points per event; README "Trust" lists them too):
 *   allowed operation +0.2 · denied operation −5 · policy violation (a deny by a rule with a
 *   severity) low −15, medium −40, high −100, critical −250 · killed −150 · SLO breach −30 ·
 *   completed saga +10.
 * Decay: the distance to the baseline (500) halves every `halfLifeMs` (default 24 h), so old
 * behaviour fades in both directions.
 */
import { z } from "zod";

export const TRUST_MIN = 0;
export const TRUST_MAX = 1000;
export const TRUST_START = 500;
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
  allowed: 0.2,
  denied: -5,
  violation: { low: -15, medium: -40, high: -100, critical: -250 },
  killed: -150,
  slo_breach: -30,
  saga_completed: 10,
} as const;

/** A score and the time it was computed. */
export interface TrustState {
  score: number;
  at: number;
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

/**
 * Apply an event. Garbage (NaN, unknown types, negative times, extra keys) is rejected with an
 * error, never folded into a score.
 */
export function applyEvent(
  s: TrustState,
  raw: unknown,
  c: TrustConfig = DEFAULT_TRUST,
): TrustState {
  const e = TrustEvent.parse(raw);
  if (!Number.isFinite(s.score) || !Number.isFinite(s.at)) throw new Error("corrupt trust state");
  const at = Math.max(s.at, e.at);
  return { score: clamp(decayed(s, at, c) + weight(e)), at };
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
