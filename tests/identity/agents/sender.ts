// Sends `count` messages to `to`, then tries `blocked` (if given); prints one line per step.
import { env, identity, messages, WardenError } from "../../../sdk/mod.ts";

const task = JSON.parse((await env.get("WARDEN_TASK")) ?? "{}") as {
  to: string;
  count: number;
  blocked?: string;
};
console.log(`me ${(await identity()).did}`);
for (let i = 0; i < task.count; i++) {
  await messages.send(task.to, { i, text: `hello ${i}` });
  console.log(`sent ${i}`);
}
if (task.blocked) {
  try {
    await messages.send(task.blocked, { i: -1 });
    console.log("blocked send SUCCEEDED");
  } catch (e) {
    console.log(`blocked ${(e as WardenError).code} ${(e as WardenError).rule}`);
  }
}
