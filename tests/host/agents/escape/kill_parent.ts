/** Case 14: kill the host (the agent's parent process). */
import process from "node:process";
import { attempt, done } from "./_attempt.ts";

console.log(`ppid ${Deno.ppid}`);
await attempt("Deno.kill(ppid)", () => Deno.kill(Deno.ppid, "SIGKILL"));
await attempt("process.kill(ppid)", () => process.kill(process.ppid, "SIGKILL"));
await attempt("Deno.kill(-ppid)", () => Deno.kill(-Deno.ppid, "SIGKILL"));
done();
