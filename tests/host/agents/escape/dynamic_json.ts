/** Case 4: dynamic JSON import of the secret (by path and by file URL). */
import { attempt, done, params } from "./_attempt.ts";

const { secret } = params();
await attempt(
  "import(path)",
  async () => JSON.stringify((await import(secret, { with: { type: "json" } })).default),
);
await attempt(
  "import(file URL)",
  async () =>
    JSON.stringify((await import(`file://${secret}`, { with: { type: "json" } })).default),
);
done();
