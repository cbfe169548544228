/**
 * Around the SDK: a real sandboxed agent cannot read the host's memory database or its sealing
 * key, write into the database, or open it with node:sqlite (the broker and the kernel refuse
 * each, and the store stays intact).
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { agent } from "./helpers.ts";

const AGENT = new URL("./agents/raw_store.ts", import.meta.url).pathname;

Deno.test({
  name: "an agent reaches the memory store only through the SDK",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "warden-mem-raw-" });
    const host = new AgentHost({
      policy: loadPolicy([join(Deno.cwd(), "policies/agents.yaml")], { builtin: true }),
      rings: loadRings(),
      stateDir: dir,
    });
    try {
      const w = agent("w", 800);
      // A store with one entry (written through the service, as an allowed write would be).
      await host.memory.store.put(
        {
          namespace: w.id,
          key: "k",
          value: '"v"',
          tags: [],
          provenance: {
            ...w,
            writer: w.id,
            writerName: w.name,
            source: { kind: "agent", ref: null },
            at: 1,
          },
          expiresAt: null,
          status: "visible",
          note: null,
        },
        { entries: 10, bytes: 1000 },
        1,
      );
      const path = host.memory.path;
      const h = await host.start({ module: AGENT, args: [path, `${path}.key`], timeoutMs: 60_000 });
      const [out] = await Promise.all([new Response(h.process.stdout).text(), h.exited]);
      const lines = out.split("\n").filter((l) => l.startsWith("RAW "));
      assert(lines.includes("RAW done"), out);
      for (const step of ["read-db", "read-key", "write-db", "sqlite-open"]) {
        const l = lines.find((x) => x.startsWith(`RAW ${step} `));
        assert(l?.includes("refused"), `${step}: ${l}`);
      }
      assertEquals((await host.memory.store.visible(w.id, "k", 2))?.intact, true);
    } finally {
      await host.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
