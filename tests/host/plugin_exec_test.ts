/** Plugin execution: its own sandboxed process, at its ring, under its declared capabilities. */
import { join } from "node:path";
import { z } from "zod";
import { assertEquals } from "../policy/asserts.ts";
import { compilePolicySet } from "../../governance/mod.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadRings } from "../../runtime/policy/loader.ts";

const here = new URL(".", import.meta.url).pathname;
const POLICY = `apiVersion: warden/v1
kind: Policy
name: plugins
rules:
  - { id: load-echo, effect: allow, action: plugin.load, resource: "echo@1.0.0" }
  - { id: echo-tools, effect: allow, action: tool.call, when: { resource: { prefix: "echo." } } }
  - { id: plugin-reads, effect: allow, action: fs.read, when: { path: { within: ["\${workspace}"] } } }
`;

Deno.test("a plugin's tools run in its own process; its capabilities bound it below its ring", async () => {
  const ws = await Deno.makeTempDir();
  await Deno.writeTextFile(join(ws, "secret.txt"), "TOP-SECRET");
  const host = new AgentHost({
    policy: compilePolicySet([
      { path: "builtin.yaml", text: Deno.readTextFileSync("runtime/policy/builtin.yaml") },
      { path: "plugins.yaml", text: POLICY },
    ]),
    rings: loadRings(),
  });
  try {
    const plugin = await host.loadPlugin({
      name: "echo",
      version: "1.0.0",
      publisher: "did:key:z6MkTest",
      dir: join(here, "agents/plugin/echo"),
      entry: join(here, "agents/plugin/echo/main.ts"),
      ring: 2,
      capabilities: {}, // declares nothing: no reads even though ring 2 would allow workspace reads
      tools: {
        echo: z.strictObject({ text: z.string() }),
        peek: z.strictObject({ path: z.string() }),
      },
    });
    const agent = await host.start({
      module: join(here, "agents/plugin/use_echo.ts"),
      workspace: ws,
    });
    const [out] = await Promise.all([new Response(agent.process.stdout).text(), agent.exited]);
    const r = out.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(r[0].ok, true);
    assertEquals(r[0].result.echoed, "hello");
    if (r[0].result.pid === agent.pid || r[0].result.pid !== plugin.pid) {
      throw new Error("not run in the plugin's process");
    }
    assertEquals([r[1].ok, r[1].code], [false, "failed"]);
    if (out.includes("TOP-SECRET")) throw new Error("capability bypass");
    assertEquals([r[2].ok, r[2].code], [false, "invalid"]);
    const denied = host.audit.recent.find((e) =>
      e.agent.name === "plugin-echo" && e.effect === "deny" && e.action === "fs.read"
    );
    if (!denied?.reason.startsWith("capabilities of plugin-echo: it does not allow fs.read")) {
      throw new Error(JSON.stringify(denied));
    }
    const load = host.audit.recent.find((e) => e.action === "plugin.load");
    assertEquals([load?.effect, load?.rule], ["allow", "load-echo"]);
    let refused = "";
    try {
      await host.loadPlugin({
        name: "other",
        version: "1.0.0",
        publisher: "x",
        dir: here,
        entry: join(here, "agents/plugin/echo/main.ts"),
        ring: 3,
        capabilities: {},
        tools: {},
      });
    } catch (e) {
      refused = (e as Error).message;
    }
    if (!refused.startsWith("plugin other@1.0.0 not loaded:")) throw new Error(refused);
  } finally {
    await host.close();
    await Deno.remove(ws, { recursive: true });
  }
});
