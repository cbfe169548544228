/**
 * Workers started by a local agent (issue 19), as they are today: a module worker from a file
 * next to the agent is refused (its module is not in the agent's module graph: the graph does
 * not follow `new Worker(url)`), audited as a denied `import`; a worker module the agent also
 * imports statically (own code) and a blob-URL worker run, and every check they make is still
 * the broker's (the broker serves the whole process), but the bootstrap's Node compatibility
 * is not installed in them: a refused `existsSync` throws `NotCapable` there instead of
 * answering `false`. When workers get the compatibility this test changes with them.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { collectRun, describe, newHost } from "../host/helpers.ts";

const FIXTURE = new URL("../fixtures/compat_require/", import.meta.url).pathname;

Deno.test({
  name: "an agent's workers: a file worker is refused, a blob worker is decided but not compatible",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-workers-" }));
    const ws = join(tmp, "ws");
    Deno.mkdirSync(ws);
    const refused = join(tmp, "outside", "config.json");
    Deno.mkdirSync(join(tmp, "outside"));
    Deno.writeTextFileSync(refused, "{}");
    Deno.writeTextFileSync(join(ws, "params.json"), JSON.stringify({ refused }));
    const host = newHost({ stateDir: join(tmp, "state") });
    try {
      const handle = await host.start({
        module: join(FIXTURE, "worker_agent.ts"),
        workspace: ws,
        timeoutMs: 120_000,
      });
      const run = await collectRun(host, handle);
      assertEquals(run.stdout.includes("WRK-DONE"), true, describe(run));
      const by: Record<string, string> = {};
      for (const line of run.stdout.split("\n")) {
        if (!line.startsWith("WRK ")) continue;
        const { step, value } = JSON.parse(line.slice(4));
        by[step] = value;
      }
      assertEquals(by, {
        "main existsSync": "false",
        "file worker": "error import",
        "own-code worker existsSync": "threw NotCapable",
        "blob worker existsSync": "threw NotCapable",
      }, describe(run));
      const workerUrl = `file://${join(FIXTURE, "worker_mod.ts")}`;
      assertEquals(
        run.audit.some((e) => e.resource === workerUrl && e.effect === "deny"),
        true,
        describe(run),
      );
      assertEquals(run.audit.some((e) => e.resource === workerUrl && e.effect === "allow"), false);
      // Every probe of the refused file (the agent's and both workers') reached the broker.
      const denied = run.audit.filter((e) =>
        e.path === "broker" && e.resource === refused && e.effect === "deny"
      );
      assertEquals(denied.length, 3, describe(run));
      assertEquals(run.stdout.includes("file worker ran"), false);
    } finally {
      await host.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
