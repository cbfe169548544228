// Receives `count` messages (waiting up to 10 s each) and prints them as JSON lines.
import { env, messages } from "../../../sdk/mod.ts";

const task = JSON.parse((await env.get("WARDEN_TASK")) ?? "{}") as { count: number };
for (let i = 0; i < task.count; i++) {
  const m = await messages.receive(10_000);
  console.log(JSON.stringify(m));
  if (!m) break;
}
