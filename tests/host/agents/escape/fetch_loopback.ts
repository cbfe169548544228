/** Case 6: raw fetch (not the SDK) to a loopback HTTP server. */
import { attempt, done, params } from "./_attempt.ts";

const { port } = params<{ port: number }>();
await attempt(
  "fetch 127.0.0.1 /api/",
  async () => await (await fetch(`http://127.0.0.1:${port}/api/data`)).text(),
);
await attempt(
  "fetch localhost",
  async () => await (await fetch(`http://localhost:${port}/`)).text(),
);
await attempt(
  "fetch POST",
  async () =>
    await (await fetch(`http://127.0.0.1:${port}/api/data`, { method: "POST", body: "x" })).text(),
);
done();
