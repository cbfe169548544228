/**
 * Reward guards for RL loops (pure). The policy constraints hold during training, and the
 * reward never pays for breaking them:
 * - a penalty per violation, by severity (defaults: low 1, medium 5, high 20, critical 100);
 * - a critical violation ends the episode;
 * - no episode that contains a violation scores above the best compliant episode so far;
 * - a denied step whose raw reward — priced by the environment without performing the action —
 *   is positive is flagged: the reward function pays for forbidden behaviour. A denied action is
 *   never performed; an environment that cannot price one gives no raw reward (null).
 */
import type { Severity } from "../policy/schema.ts";

export const DEFAULT_PENALTIES: Readonly<Record<Severity, number>> = {
  low: 1,
  medium: 5,
  high: 20,
  critical: 100,
};

/** What the policy said about one step's action. */
export interface StepVerdict {
  effect: "allow" | "deny" | "require_approval";
  rule: string | null;
  /** The deciding rule's severity (deny rules without one count as medium). */
  severity?: Severity;
}

/** The guarded outcome of one step. */
export interface GuardedStep {
  reward: number;
  violation: boolean;
  terminate: boolean;
  flags: string[];
}

export interface GuardOptions {
  penalties?: Partial<Record<Severity, number>>;
}

/** The flag of a denied step whose raw reward is positive. */
export function paidDenial(raw: number, rule: string | null): string {
  return `reward ${raw} paid for an action denied by ${rule ?? "the policy default"}`;
}

export class RewardGuard {
  readonly penalties: Record<Severity, number>;
  #bestCompliant: number | null = null;

  constructor(o: GuardOptions = {}) {
    this.penalties = { ...DEFAULT_PENALTIES, ...o.penalties };
  }

  /**
   * Guard one step: `raw` is the environment's reward (for a denied step, its price without
   * performing the action, or null when not priced), `verdict` the policy's decision.
   */
  step(raw: number | null, verdict: StepVerdict): GuardedStep {
    if (raw !== null && !Number.isFinite(raw)) throw new Error("a reward must be a finite number");
    if (verdict.effect === "allow") {
      if (raw === null) throw new Error("an allowed step must have a reward");
      return { reward: raw, violation: false, terminate: false, flags: [] };
    }
    const severity = verdict.severity ?? "medium";
    return {
      reward: -this.penalties[severity],
      violation: true,
      terminate: severity === "critical",
      flags: raw !== null && raw > 0 ? [paidDenial(raw, verdict.rule)] : [],
    };
  }

  /**
   * Close an episode: the score it may keep. A compliant episode raises the bar; an episode
   * with a violation is capped at the best compliant score seen so far (0 before any).
   */
  endEpisode(total: number, violations: number): number {
    if (violations === 0) {
      this.#bestCompliant = this.#bestCompliant === null
        ? total
        : Math.max(this.#bestCompliant, total);
      return total;
    }
    return Math.min(total, this.#bestCompliant ?? 0);
  }

  get bestCompliant(): number | null {
    return this.#bestCompliant;
  }
}
