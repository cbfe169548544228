/** `deno task host` + `deno task approvals list|approve` end to end over loopback HTTP. */
import { assertEquals } from "../policy/asserts.ts";
import { freePort, spawnHost } from "./host_process.ts";
import { runDeno } from "../cli/run.ts";

const ASKER = new URL("./agents/asker.ts", import.meta.url).pathname;

Deno.test({
  name: "deno task host serves the API; deno task approvals lists and approves a parked request",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const home = await Deno.makeTempDir();
    const port = freePort();
    const { child: host, up, out, err } = spawnHost(home, port);
    try {
      await Promise.race([
        up,
        new Promise((_, rej) => setTimeout(() => rej(new Error("host did not start")), 20_000)),
      ]);
      const token = (await Deno.readTextFile(`${home}/api-token`)).trim();
      const env = { WARDEN_HOME: home, WARDEN_API: `http://127.0.0.1:${port}` };
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const started = await fetch(`http://127.0.0.1:${port}/api/agents`, {
        method: "POST",
        headers,
        body: JSON.stringify({ module: ASKER, name: "asker" }),
      });
      assertEquals(started.status, 201);
      let list = "";
      for (let i = 0; i < 50 && !list.includes("tool.call shell"); i++) {
        list = (await runDeno(["task", "-q", "approvals", "list"], undefined, env)).stdout;
        if (!list.includes("tool.call shell")) await new Promise((r) => setTimeout(r, 100));
      }
      const id = list.trim().split(/\s+/)[0];
      const ok = await runDeno(["task", "-q", "approvals", "approve", id], undefined, env);
      assertEquals([ok.code, ok.stdout.trim().split("\n").at(-1)], [0, `approved ${id}`]);
      if (!ok.stdout.includes(`args: {"command":"echo approved"}`)) throw new Error(ok.stdout);
      const again = await runDeno(["task", "-q", "approvals", "deny", id], undefined, env);
      assertEquals(again.code, 1);
      const audit =
        await (await fetch(`http://127.0.0.1:${port}/api/audit?action=approval`, { headers }))
          .json();
      assertEquals([audit[0]?.effect, audit[0]?.approver], ["allow", "local-admin"]);
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
      assertEquals(metrics.status, 401);
      await metrics.body?.cancel();
    } finally {
      host.kill("SIGTERM");
      await host.status;
      await out;
      await err;
      await Deno.remove(home, { recursive: true });
    }
  },
});
