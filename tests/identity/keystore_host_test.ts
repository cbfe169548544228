/** Agents get stable identities from the keystore, and can never read it. */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { AgentHost } from "../../runtime/host.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";

Deno.test("an agent keeps its did:key across hosts and cannot read the keystore", async () => {
  const dir = await Deno.makeTempDir();
  const keys = join(dir, "keys");
  const agentFile = join(dir, "code", "thief.ts");
  await Deno.mkdir(join(dir, "code"));
  await Deno.writeTextFile(
    agentFile,
    `for (const p of ${
      JSON.stringify([keys, join(keys, "agent-thief.key.json"), join(keys, "host.key.json")])
    }) {
  try { console.log("LEAK " + Deno.readTextFileSync(p).slice(0, 40)); } catch (e) { console.log("blocked " + (e as Error).name); }
  try { for (const e of Deno.readDirSync(p)) console.log("LEAK " + e.name); } catch { /* denied */ }
}\n`,
  );
  const ids: string[] = [];
  for (let run = 0; run < 2; run++) {
    const keystore = new Keystore(keys);
    await keystore.signer("host");
    const host = new AgentHost({
      policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
      rings: loadRings(),
      keystore,
    });
    try {
      const h = await host.start({ module: agentFile, name: "thief" });
      const out = await new Response(h.process.stdout).text();
      await h.exited;
      if (out.includes("LEAK")) throw new Error(out);
      ids.push(h.id);
      const denied = host.audit.recent.filter((e) =>
        e.effect === "deny" && e.resource.startsWith(keys)
      );
      if (denied.length < 3) throw new Error(`keystore reads not denied/audited: ${denied.length}`);
    } finally {
      await host.close();
    }
  }
  assertEquals(ids[0], ids[1]);
  if (!ids[0].startsWith("did:key:z6Mk")) throw new Error(ids[0]);
  await Deno.remove(dir, { recursive: true });
});
