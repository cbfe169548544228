// End to end: the broker's component walk (realPathUnder, used when the kernel keeps the
// workspace fixed) hands every operator symlink that leads out of the workspace to realPath,
// so reads through them are decided, and refused, on the outside path; nothing an agent does
// makes or moves such a link. See tests/perf/agents/symlink_walk.ts.
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { collectRun, describe, newHost } from "../host/helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const AGENT = new URL("./agents/symlink_walk.ts", import.meta.url).pathname;

Deno.test(
  "broker walk: links out of a fixed workspace are decided on their targets",
  opts,
  async () => {
    const host = newHost();
    if (!host.sandbox().path) {
      console.log(`skipped: no kernel sandbox (${host.sandbox().why})`);
      await host.close();
      return;
    }
    const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-walk-" }));
    const ws = join(tmp, "ws");
    const out = join(tmp, "outside");
    const marker = `WALK-MARKER-${crypto.randomUUID()}`;
    const decoy = "decoy";
    try {
      await Deno.mkdir(join(ws, "sub/a/b"), { recursive: true });
      await Deno.mkdir(out);
      await Deno.writeTextFile(join(out, "s"), marker);
      await Deno.writeTextFile(join(ws, "sub/decoy.txt"), decoy);
      await Deno.symlink(join(out, "s"), join(ws, "lnk"));
      await Deno.symlink(out, join(ws, "dlnk"));
      await Deno.symlink("../lnk", join(ws, "sub/lnk"));
      await Deno.symlink(out, join(ws, "sub/dlnk"));
      await Deno.symlink(out, join(ws, "sub/a/b/dlnk"));
      await Deno.symlink("../dlnk", join(ws, "sub/hop"));
      await Deno.writeTextFile(join(ws, "params.json"), JSON.stringify({ ws, decoy }));
      const handle = await host.start({ module: AGENT, workspace: ws, timeoutMs: 60_000 });
      const run = await collectRun(host, handle);
      if (run.stdout.includes(marker) || run.stderr.includes(marker)) {
        throw new Error(`LEAK: the outside secret reached the agent\n${describe(run)}`);
      }
      const ok = run.attempts.filter((a) => a.ok).map((a) => a.step);
      assertEquals(ok, ["decoy", "rename dir and back", "decoy again"], describe(run));
      assertEquals(run.attempts.length, 14, describe(run));
      assertEquals(run.done, true, describe(run));
      // Each read through a link was decided on the outside path (denied), never on the link.
      const denied = new Set(
        run.audit.filter((e) =>
          e.path === "broker" && e.action === "fs.read" && e.effect === "deny"
        )
          .map((e) => e.resource),
      );
      assertEquals(denied.has(join(out, "s")), true, describe(run));
      const onLink = run.audit.filter((e) =>
        e.path === "broker" && e.action === "fs.read" && e.effect === "allow" &&
        (e.resource.includes("lnk") || e.resource.includes("hop"))
      );
      assertEquals(onLink.map((e) => e.resource), [], describe(run));
    } finally {
      await host.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
);
