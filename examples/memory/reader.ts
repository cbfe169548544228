/**
 * A trusted agent that reads the team's notes: what it receives, with the provenance of each
 * value (a framework would show the model who wrote it and from where).
 */
import { emit, memory } from "../../sdk/mod.ts";

const listed = await memory.list({ namespace: "team-notes" });
const payment = await memory.get("payment-instructions", { namespace: "team-notes" });
const found = await memory.search("IBAN", { namespace: "team-notes" });
await emit({
  listed: listed.map((e) => ({ key: e.key, value: e.value, provenance: e.provenance })),
  payment: payment?.value ?? null,
  found: found.map((e) => e.key),
});
