/** `deno task host` keeps trust (issue 16 class 7): scores move, demote, and persist in its home. */
import { assertEquals } from "../policy/asserts.ts";
import { freePort, spawnHost } from "../server/host_process.ts";

const WRECKER = new URL("./agents/wrecker.ts", import.meta.url).pathname;

interface TrustRow {
  id: string;
  name: string;
  trust: number;
  ring: number;
}

async function withHost(home: string, fn: (api: string, headers: HeadersInit) => Promise<void>) {
  const port = freePort();
  const { child: proc, up, out, err } = spawnHost(home, port);
  try {
    await Promise.race([
      up,
      new Promise((_, rej) => setTimeout(() => rej(new Error("host did not start")), 30_000)),
    ]);
    const token = (await Deno.readTextFile(`${home}/api-token`)).trim();
    await fn(`http://127.0.0.1:${port}`, {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    });
  } catch (e) {
    proc.kill("SIGTERM");
    await proc.status;
    const stderr = await Promise.race([err, new Promise((r) => setTimeout(r, 5000, "?"))]);
    throw new Error(`${(e as Error).message}\nhost stderr:\n${stderr}`);
  }
  proc.kill("SIGTERM"); // the host saves its trust store on the way out
  await proc.status;
  await out;
  await err;
}

Deno.test({
  name: "deno task host: GET /api/trust moves, a critical violation demotes, scores persist",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const home = await Deno.makeTempDir();
    let did = "";
    await withHost(home, async (api, headers) => {
      const started = await fetch(`${api}/api/agents`, {
        method: "POST",
        headers,
        body: JSON.stringify({ module: WRECKER, name: "wrecker" }),
      });
      assertEquals(started.status, 201);
      did = (await started.json()).id;
      let rows: TrustRow[] = [];
      for (let i = 0; i < 300; i++) {
        rows = await (await fetch(`${api}/api/trust`, { headers })).json();
        if (rows.some((r) => r.id === did && r.ring === 3 && r.trust < 250)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const row = rows.find((r) => r.id === did);
      // 650, then two critical violations (one per process, ring 2 and ring 3): 150.
      if (!row || row.ring !== 3 || Math.abs(row.trust - 150) > 5) {
        throw new Error(`trust did not move: ${JSON.stringify(rows)}`);
      }
      const audit = await (await fetch(`${api}/api/audit?action=agent.ring`, { headers })).json();
      assertEquals(audit.map((e: { reason: string }) => e.reason.split(" (")[0]), [
        "trust: ring 2 -> 3",
      ]);
    });
    const store = JSON.parse(await Deno.readTextFile(`${home}/trust.json`));
    if (!(store.agents[did]?.score <= 155)) throw new Error(JSON.stringify(store));
    // The next host reads the score back: the agent may start only at ring 3 (audited).
    await withHost(home, async (api, headers) => {
      const started = await fetch(`${api}/api/agents`, {
        method: "POST",
        headers,
        body: JSON.stringify({ module: WRECKER, name: "wrecker", ring: 2 }),
      });
      assertEquals([started.status, started.status === 201 ? "" : await started.text()], [201, ""]);
      const start = (await (await fetch(`${api}/api/audit?action=agent.start`, { headers }))
        .json()).at(-1);
      assertEquals(start.agent.ring, 3);
      if (!/asked ring 2, trust 15\d \(untrusted\) caps it at 3/.test(start.reason)) {
        throw new Error(start.reason);
      }
    });
    await Deno.remove(home, { recursive: true });
  },
});
