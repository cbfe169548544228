/**
 * A trusted agent that writes the team's report from its notes, and — carelessly — pastes the
 * deploy token it was given into the output. The policy's output rules redact it before the
 * output leaves the host (examples/memory/policy.yaml, `outputs:`).
 */
import { emit, env, memory } from "../../sdk/mod.ts";

const token = await env.get("DEPLOY_TOKEN");
const notes = await memory.list({ namespace: "team-notes" });
await emit({
  report: notes.map((e) => `${e.key}: ${e.value}`),
  debug: `deployed with ${token}`,
});
