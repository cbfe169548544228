/** The RL example: guarded training learns the compliant path; unguarded learns the shortcut. */
import { assertEquals } from "../policy/asserts.ts";
import { train } from "../../examples/rl/run.ts";

Deno.test("guarded Q-learning converges to zero violations; unguarded learns the forbidden shortcut", async () => {
  const [guarded, unguarded] = await Promise.all([train(true), train(false)]);
  const lastRate = (c: typeof guarded) =>
    c.episodes.slice(-20).filter((e) => e.violations > 0).length / 20;
  assertEquals(lastRate(guarded), 0);
  assertEquals(guarded.episodes.at(-1)!.actions, ["research", "research", "write"]);
  assertEquals(lastRate(unguarded), 1);
  if (!unguarded.episodes.at(-1)!.actions.includes("copy_answer")) {
    throw new Error("unguarded run did not learn the shortcut");
  }
  if (!(unguarded.flags > 0)) throw new Error("reward paid for denied actions was not flagged");
});
