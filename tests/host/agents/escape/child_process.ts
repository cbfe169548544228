/** Case 9: start a shell with node:child_process. */
import cp from "node:child_process";
import { attempt, done } from "./_attempt.ts";

const script = "echo $((6*7))RUN";
await attempt("execSync", () => cp.execSync(script).toString());
await attempt("spawnSync", () => {
  const r = cp.spawnSync("/bin/sh", ["-c", script]);
  if (r.error) throw r.error;
  return r.stdout.toString();
});
await attempt("execFileSync", () => cp.execFileSync("/bin/sh", ["-c", script]).toString());
await attempt(
  "exec",
  () =>
    new Promise<string>((resolve, reject) =>
      cp.exec(script, (err, stdout) => err ? reject(err) : resolve(String(stdout)))
    ),
);
done();
