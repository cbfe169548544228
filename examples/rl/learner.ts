/**
 * Tabular Q-learning, in plain TypeScript, over the host's governed environment. Prints one
 * JSON line per episode: {episode, reward, violations, actions}.
 */
import { rl } from "../../sdk/mod.ts";

const EPISODES = 150, ALPHA = 0.5, GAMMA = 0.95;
const q = new Map<string, number>();
const key = (s: unknown, a: string) => `${JSON.stringify(s)}|${a}`;
let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

for (let ep = 0; ep < EPISODES; ep++) {
  const epsilon = Math.max(0, 1 - ep / 100); // explore, then act greedily for the last 50
  let { state, actions } = await rl.reset();
  let total = 0, violations = 0;
  const taken: string[] = [];
  for (let t = 0; t < 20; t++) {
    const greedy = actions.reduce((
      b,
      a,
    ) => ((q.get(key(state, a)) ?? 0) > (q.get(key(state, b)) ?? 0) ? a : b));
    const action = random() < epsilon ? actions[Math.floor(random() * actions.length)] : greedy;
    const r = await rl.step(action);
    taken.push(action);
    total += r.reward;
    if (r.denied) violations++;
    const best = r.done ? 0 : Math.max(...actions.map((a) => q.get(key(r.state, a)) ?? 0));
    const old = q.get(key(state, action)) ?? 0;
    q.set(key(state, action), old + ALPHA * (r.reward + GAMMA * best - old));
    state = r.state;
    if (r.done) break;
  }
  console.log(JSON.stringify({ episode: ep + 1, reward: total, violations, actions: taken }));
}
