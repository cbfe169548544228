/**
 * The governed environment API for RL loops (Gym-style `reset()` / `step(action)`), served to
 * a learner agent through the SDK. Every action is decided by the policy engine as
 * `tool.call` with the action's name as resource, audited, and scored by the reward guard;
 * the host enforces per-episode budgets (steps, wall time) and records every step.
 */
import type { Severity } from "../../governance/mod.ts";
import { type GuardedStep, paidDenial, RewardGuard } from "../../governance/rl/mod.ts";
import type { AgentRef, Governor } from "../governor.ts";

/** A plain environment: the host owns it; the learner only sees states and rewards. */
export interface Environment<S = unknown> {
  readonly actions: readonly string[];
  reset(): S;
  /** Perform `action`: called only for actions the policy allowed. */
  step(state: S, action: string): { state: S; reward: number; done: boolean };
  /**
   * Optional: the reward `step` would pay for `action`, computed without performing it (no
   * effects). Called only for denied actions, so the guards can flag a reward function that
   * pays for forbidden behaviour; without it a denied step is not priced (raw reward null).
   */
  price?(state: S, action: string): number;
}

/** One recorded step of an episode. */
export interface StepRecord {
  episode: number;
  t: number;
  state: unknown;
  action: string;
  effect: string;
  rule: string | null;
  /** What the environment paid, or for a denied step would have paid (null: not priced). */
  rawReward: number | null;
  reward: number;
  done: boolean;
  violation: boolean;
  flags: string[];
}

export interface EpisodeBudget {
  maxSteps: number;
  maxWallMs: number;
}

/** What `step` returns to the learner. */
export interface StepResult {
  state: unknown;
  reward: number;
  done: boolean;
  denied: boolean;
  reason?: string;
}

export class GovernedEnv<S> {
  readonly guard: RewardGuard;
  readonly steps: StepRecord[] = [];
  readonly episodes: {
    episode: number;
    total: number;
    kept: number;
    violations: number;
    steps: number;
    flags: number;
  }[] = [];
  #state: S | null = null;
  #episode = 0;
  #t = 0;
  #total = 0;
  #violations = 0;
  #flags = 0;
  #started = 0;

  constructor(
    readonly env: Environment<S>,
    readonly governor: Governor,
    readonly budget: EpisodeBudget = { maxSteps: 50, maxWallMs: 10_000 },
    readonly guarded = true,
  ) {
    this.guard = new RewardGuard();
  }

  reset(): { state: unknown; actions: readonly string[] } {
    if (this.#state !== null) this.#close();
    this.#episode++;
    this.#t = 0;
    this.#total = 0;
    this.#violations = 0;
    this.#flags = 0;
    this.#started = Date.now();
    this.#state = this.env.reset();
    return { state: this.#state, actions: this.env.actions };
  }

  step(agent: AgentRef, action: string): StepResult {
    if (this.#state === null) throw new Error("call reset() first");
    if (!this.env.actions.includes(action)) throw new Error(`unknown action "${action}"`);
    const state = this.#state;
    const ruling = this.governor.decide(agent, {
      path: "sdk",
      action: "tool.call",
      resource: action,
      args: { episode: this.#episode, t: this.#t },
      context: { episode: this.#episode },
    });
    const severity = ruling.rule
      ? this.governor.policy.rules.find((r) => r.id === ruling.rule)?.severity as
        | Severity
        | undefined
      : undefined;
    const denied = ruling.effect !== "allow";
    // A denied action never happens: `step` (which may have effects) is not called for it; the
    // environment's effect-free `price`, when it has one, says what it would have paid, kept to
    // detect reward functions that pay for forbidden actions.
    const next = denied ? null : this.env.step(state, action);
    const raw = next ? next.reward : this.#price(state, action);
    // Unguarded, the priced reward passes through even for denied actions (the baseline that
    // shows reward hacking); the action itself never happens either way.
    const g = this.guarded
      ? this.guard.step(raw, { effect: ruling.effect, rule: ruling.rule, severity })
      : unguarded(raw, denied, ruling.rule);
    const applied = next ?? { state, done: false };
    this.#t++;
    this.#total += g.reward;
    if (g.violation) this.#violations++;
    this.#flags += g.flags.length;
    let done = applied.done || g.terminate;
    let reason: string | undefined = g.terminate
      ? `critical violation (${ruling.rule})`
      : undefined;
    if (!done && this.#t >= this.budget.maxSteps) {
      [done, reason] = [true, `step budget of ${this.budget.maxSteps} reached`];
    }
    if (!done && Date.now() - this.#started > this.budget.maxWallMs) {
      [done, reason] = [true, `wall-time budget of ${this.budget.maxWallMs} ms reached`];
    }
    this.#state = applied.state;
    this.steps.push({
      episode: this.#episode,
      t: this.#t,
      state,
      action,
      effect: ruling.effect,
      rule: ruling.rule,
      rawReward: raw,
      reward: g.reward,
      done,
      violation: g.violation,
      flags: g.flags,
    });
    if (done) this.#close();
    return { state: applied.state, reward: g.reward, done, denied, reason };
  }

  /** A denied action's price, without performing it (null: no price, or the price failed). */
  #price(state: S, action: string): number | null {
    if (!this.env.price) return null;
    try {
      const r = this.env.price(state, action);
      return Number.isFinite(r) ? r : null;
    } catch {
      return null;
    }
  }

  #close(): void {
    const kept = this.guarded ? this.guard.endEpisode(this.#total, this.#violations) : this.#total;
    this.episodes.push({
      episode: this.#episode,
      total: this.#total,
      kept,
      violations: this.#violations,
      steps: this.#t,
      flags: this.#flags,
    });
    this.#state = null;
  }

  /** Trajectories as JSONL; `compliantOnly` keeps only violation-free episodes (training data). */
  export(compliantOnly = false): string {
    const clean = new Set(this.episodes.filter((e) => e.violations === 0).map((e) => e.episode));
    return this.steps.filter((s) => !compliantOnly || clean.has(s.episode)).map((s) =>
      JSON.stringify(s)
    ).join("\n") +
      "\n";
  }
}

/** The unguarded baseline: the (priced) reward passes through; paid denials are still flagged. */
function unguarded(raw: number | null, denied: boolean, rule: string | null): GuardedStep {
  const reward = raw ?? 0;
  return {
    reward,
    violation: denied,
    terminate: false,
    flags: denied && reward > 0 ? [paidDenial(reward, rule)] : [],
  };
}
