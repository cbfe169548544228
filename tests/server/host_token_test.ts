/**
 * Issue 16 class 13: a second `deno task host` must never clobber the API token of a live host
 * — neither when it cannot bind the port, nor when it binds another port over the same home.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { freePort, spawnHost } from "./host_process.ts";

Deno.test({
  name: "class 13: a second host (same port, or another port) never replaces a live host's token",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const home = await Deno.makeTempDir();
    const port = freePort();
    const first = spawnHost(home, port);
    try {
      await Promise.race([
        first.up,
        new Promise((_, rej) => setTimeout(() => rej(new Error("host did not start")), 30_000)),
      ]);
      const token = await Deno.readTextFile(`${home}/api-token`);
      const headers = { authorization: `Bearer ${token.trim()}` };

      // Same port: the bind fails; nothing may be written.
      const second = spawnHost(home, port);
      const s2 = await second.child.status;
      await second.out;
      const e2 = await second.err;
      assertEquals(s2.code, 1);
      if (!e2.includes(`port ${port} is in use`)) throw new Error(e2);
      assertEquals(await Deno.readTextFile(`${home}/api-token`), token);

      // Another port, same home: the token belongs to a live host; refuse rather than replace.
      const third = spawnHost(home, freePort());
      const s3 = await third.child.status;
      await third.out;
      const e3 = await third.err;
      assertEquals(s3.code, 1);
      if (!e3.includes("is in use by a running host")) throw new Error(e3);
      assertEquals(await Deno.readTextFile(`${home}/api-token`), token);

      // Even with its own tokens, a second host may not share the live host's home (its audit
      // log, journals and token file are the live host's).
      const tokens = join(home, "tokens.json");
      await Deno.writeTextFile(
        tokens,
        JSON.stringify([{ token: "x".repeat(32), name: "x", role: "admin" }]),
      );
      const fourth = spawnHost(home, freePort(), ["--tokens", tokens]);
      const s4 = await fourth.child.status;
      await fourth.out;
      const e4 = await fourth.err;
      assertEquals(s4.code, 1);
      if (!e4.includes("is in use by a running host")) throw new Error(e4);
      assertEquals(await Deno.readTextFile(`${home}/api-token`), token);

      const r = await fetch(`http://127.0.0.1:${port}/api/agents`, { headers });
      assertEquals(r.status, 200);
      await r.body?.cancel();
    } finally {
      first.child.kill("SIGTERM");
      await first.child.status;
      await first.out;
      await first.err;
    }
    // Once the first host is gone, a new host may take the home over (fresh token).
    const port2 = freePort();
    const next = spawnHost(home, port2);
    try {
      await Promise.race([
        next.up,
        new Promise((_, rej) => setTimeout(() => rej(new Error("host did not start")), 30_000)),
      ]);
      const token = (await Deno.readTextFile(`${home}/api-token`)).trim();
      const r = await fetch(`http://127.0.0.1:${port2}/api/agents`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assertEquals(r.status, 200);
      await r.body?.cancel();
    } finally {
      next.child.kill("SIGTERM");
      await next.child.status;
      await next.out;
      await next.err;
      await Deno.remove(home, { recursive: true });
    }
  },
});
