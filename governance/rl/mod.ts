/**
 * RL guards: penalties, termination, caps and reward-hacking flags.
 * @module
 */
export {
  DEFAULT_PENALTIES,
  type GuardedStep,
  type GuardOptions,
  paidDenial,
  RewardGuard,
  type StepVerdict,
} from "./guards.ts";
