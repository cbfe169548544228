/** Case 5: dump the environment with Deno.env and node's process.env. */
import process from "node:process";
import { attempt, done } from "./_attempt.ts";

await attempt("Deno.env.toObject", () => JSON.stringify(Deno.env.toObject()));
await attempt("process.env for..in", () => {
  const out: string[] = [];
  for (const k in process.env) out.push(`${k}=${process.env[k]}`);
  return out.join("\n");
});
await attempt("Object.entries(process.env)", () => JSON.stringify(Object.entries(process.env)));
await attempt("Deno.env.get(broker path)", () => {
  const v = Deno.env.get("DENO_PERMISSION_BROKER_PATH");
  if (v === undefined) throw new Error("unset");
  return v;
});
done();
