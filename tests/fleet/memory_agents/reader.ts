// Reads team-notes and records what it received in its own namespace (key "seen").
import { memory } from "../../../sdk/mod.ts";

const listed = await memory.list({ namespace: "team-notes" });
const poison = await memory.get("poison", { namespace: "team-notes" });
await memory.put("seen", {
  listed: listed.map((e) => ({ key: e.key, value: e.value, writer: e.provenance.writerName })),
  poison: poison?.value ?? null,
});
