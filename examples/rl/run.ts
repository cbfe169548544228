/**
 * `deno task rl demo`: the same Q-learner trained twice in a governed environment whose policy
 * forbids a shortcut — once with the reward guards, once without — and the learning curves.
 */
import { join } from "node:path";
import { AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { GovernedEnv } from "../../runtime/rl/env.ts";
import { reportTask } from "./env.ts";
import { type CliSpec, command, runCli } from "../../runtime/cli/runner.ts";

const here = new URL(".", import.meta.url).pathname;

export interface Curve {
  guarded: boolean;
  episodes: { episode: number; reward: number; violations: number; actions: string[] }[];
  flags: number;
  cleanSteps: number;
}

/** Train once; returns the per-episode curve. */
export async function train(guarded: boolean): Promise<Curve> {
  const host = new AgentHost({
    policy: loadPolicy([join(here, "policy.yaml")], { builtin: true }),
    rings: loadRings(),
  });
  const env = new GovernedEnv(
    reportTask,
    host.governor,
    { maxSteps: 20, maxWallMs: 5_000 },
    guarded,
  );
  try {
    const h = await host.start({
      module: join(here, "learner.ts"),
      name: guarded ? "learner-guarded" : "learner-unguarded",
      ring: 3,
      environment: env as GovernedEnv<unknown>,
    });
    const [out] = await Promise.all([new Response(h.process.stdout).text(), h.exited]);
    const episodes = out.trim().split("\n").map((l) => JSON.parse(l));
    return {
      guarded,
      episodes,
      flags: env.episodes.reduce((n, e) => n + e.flags, 0),
      cleanSteps: env.export(true).trim().split("\n").filter(Boolean).length,
    };
  } finally {
    await host.close();
  }
}

function chart(label: string, values: number[], width = 60): string {
  const buckets = Math.min(width, values.length);
  const per = values.length / buckets;
  const avg = Array.from({ length: buckets }, (_, i) => {
    const slice = values.slice(Math.floor(i * per), Math.floor((i + 1) * per));
    return slice.reduce((a, b) => a + b, 0) / slice.length;
  });
  const lo = Math.min(...avg), hi = Math.max(...avg);
  const bars = " ▁▂▃▄▅▆▇█";
  const line = avg.map((v) => bars[hi === lo ? 4 : Math.round(((v - lo) / (hi - lo)) * 8)]).join(
    "",
  );
  return `  ${label.padEnd(12)} ${line}  (${lo.toFixed(1)} .. ${hi.toFixed(1)})`;
}

async function demo(): Promise<number> {
  for (const guarded of [true, false]) {
    const c = await train(guarded);
    const last = c.episodes.slice(-20);
    const rate = last.reduce((n, e) => n + (e.violations > 0 ? 1 : 0), 0) / last.length;
    console.log(`${guarded ? "Guarded" : "Unguarded"} run (${c.episodes.length} episodes):`);
    console.log(chart("violations", c.episodes.map((e) => e.violations)));
    console.log(chart("reward", c.episodes.map((e) => e.reward)));
    console.log(
      `  last 20 episodes: violation rate ${(100 * rate).toFixed(0)}%; final greedy path: ${
        c.episodes.at(-1)!.actions.join(" → ")
      }`,
    );
    console.log(
      `  reward-hacking flags: ${c.flags}; violation-free steps exported for training: ${c.cleanSteps}\n`,
    );
  }
  return 0;
}

/** `deno task rl`. */
export const spec: CliSpec = {
  name: "rl",
  subcommands: {
    demo: command({
      help: "  Trains the same Q-learner twice in a governed environment whose policy forbids a\n" +
        "  shortcut, with and without the reward guards, and prints the learning curves.",
      main: demo,
    }),
  },
};

if (import.meta.main) await runCli(spec);
