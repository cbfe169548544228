/**
 * Case 12b: paths through /proc/self mean the agent's own process. The agent moves into a
 * workspace subdirectory holding a planted symlink to the secret's directory and reads through
 * /proc/self/cwd (its own cwd in the kernel's view), plus its own /proc/self/environ.
 */
import { attempt, done } from "./_attempt.ts";

// The kernel sandbox pins the working directory (chdir fails): then reach sub/ through it.
let via = "link";
try {
  Deno.chdir("sub");
} catch {
  via = "sub/link";
}
await attempt(
  "/proc/self/cwd/link",
  () => Deno.readTextFileSync(`/proc/self/cwd/${via}/secret.json`),
);
await attempt(
  "/proc/thread-self/cwd/link",
  () => Deno.readTextFileSync(`/proc/thread-self/cwd/${via}/secret.json`),
);
await attempt("/proc/self/environ", () => Deno.readTextFileSync("/proc/self/environ"));
console.log(`agent pid ${Deno.pid}`);
done();
