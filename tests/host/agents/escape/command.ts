/** Case 8: start a shell with Deno.Command (by name and by absolute path). */
import { attempt, done, text } from "./_attempt.ts";

// The script prints 42RUN only when a shell really runs it.
const args = ["-c", "echo $((6*7))RUN"];
await attempt(
  "Command(sh).output",
  async () => text((await new Deno.Command("sh", { args }).output()).stdout),
);
await attempt(
  "Command(/bin/sh).output",
  async () => text((await new Deno.Command("/bin/sh", { args }).output()).stdout),
);
await attempt(
  "Command(/bin/sh).outputSync",
  () => text(new Deno.Command("/bin/sh", { args }).outputSync().stdout),
);
await attempt("Command(/bin/sh).spawn", async () => {
  const p = new Deno.Command("/bin/sh", { args, stdout: "piped" }).spawn();
  return text((await p.output()).stdout);
});
done();
