/** Case 13: ask for more permissions, then read the secret. */
import { attempt, done, params } from "./_attempt.ts";

const { secret } = params();
const granted = (s: Deno.PermissionStatus) => {
  if (s.state !== "granted") throw new Error(`state ${s.state}`);
  return s.state;
};
await attempt(
  "request read",
  async () => granted(await Deno.permissions.request({ name: "read" })),
);
await attempt(
  "requestSync read secret",
  () => granted(Deno.permissions.requestSync({ name: "read", path: secret })),
);
await attempt("request run", async () => granted(await Deno.permissions.request({ name: "run" })));
await attempt("read secret", () => Deno.readTextFileSync(secret));
done();
