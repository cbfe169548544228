/** Case 12: read process environments through /proc. */
import fs from "node:fs";
import { attempt, done } from "./_attempt.ts";

await attempt("/proc/self/environ", () => Deno.readTextFileSync("/proc/self/environ"));
await attempt("/proc/<pid>/environ", () => Deno.readTextFileSync(`/proc/${Deno.pid}/environ`));
await attempt("/proc/<ppid>/environ", () => Deno.readTextFileSync(`/proc/${Deno.ppid}/environ`));
await attempt("node /proc/self/environ", () => fs.readFileSync("/proc/self/environ", "utf8"));
done();
