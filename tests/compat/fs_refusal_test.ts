/**
 * Compatible file refusals (issue 19): a Node program probing a path the policy refuses sees
 * what a real OS answers — `existsSync` false, an `EACCES` error with `code`, `errno`,
 * `syscall` and `path` from every other `node:fs` entry point (sync, promises, callbacks,
 * streams; named, default and `require` imports) — never Deno's NotCapable, which kills Node
 * code that does not expect it. The broker still decides each probe, audited as a deny;
 * `Deno.*` keeps throwing NotCapable.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { collectRun, describe, newHost } from "../host/helpers.ts";

const AGENT = new URL("../fixtures/compat/fs_probe.ts", import.meta.url).pathname;

Deno.test("a refused file probe answers like the OS from every node:fs entry point", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-fsprobe-" }));
  const refused = join(tmp, "outside", "config.json");
  Deno.mkdirSync(join(tmp, "outside"));
  Deno.writeTextFileSync(refused, "{}");
  const ws = join(tmp, "ws");
  Deno.mkdirSync(ws);
  Deno.writeTextFileSync(join(ws, "params.json"), JSON.stringify({ refused }));
  const host = newHost();
  try {
    const handle = await host.start({ module: AGENT, workspace: ws, timeoutMs: 60_000 });
    const run = await collectRun(host, handle);
    const by: Record<string, string> = {};
    for (const line of run.stdout.split("\n")) {
      if (!line.startsWith("FS-PROBE ")) continue;
      const { step, value } = JSON.parse(line.slice("FS-PROBE ".length));
      by[step] = value;
    }
    assertEquals(run.stdout.includes("FS-PROBE-DONE"), true, describe(run));
    const eacces = (syscall: string) => `threw Error EACCES -13 ${syscall} ${refused}`;
    const named = `threw NotCapable EACCES -13 undefined ${refused}`;
    assertEquals(by, {
      "fs.existsSync (default import)": "false",
      "require('fs').existsSync": "false",
      "fs.statSync": eacces("stat"),
      "fs.lstatSync": eacces("lstat"),
      "fs.realpathSync": eacces("realpath"),
      "fs.realpathSync.native": eacces("realpath"),
      "fs.openSync": eacces("open"),
      "fs.readdirSync": eacces("scandir"),
      "require('fs').accessSync": eacces("access"),
      "fsp.access (default import)": eacces("access"),
      "fs.promises.readFile": eacces("open"),
      "require('fs/promises').stat": eacces("stat"),
      "existsSync (named import)": "false",
      "statSync (named import)": eacces("stat"),
      "access (named import)": eacces("access"),
      "optional config in try": "defaults",
      "exists (callback)": "false",
      "promisify(fs.exists)": "false",
      "stat (callback)": `error Error EACCES -13 stat ${refused}`,
      "createReadStream error": `error Error EACCES -13 open ${refused}`,
      "fs.existsSync (workspace)": "true",
      "statSync (workspace)": "true",
      // Deno's own APIs keep throwing NotCapable (with the same fields in a Node-style agent).
      "Deno.statSync": named,
    }, describe(run));
    // Each probe was the broker's to decide: refused and audited as a deny of that path.
    const denied = run.audit.filter((e) =>
      e.path === "broker" && e.resource === refused && e.effect === "deny"
    );
    assertEquals(denied.length >= 15, true, describe(run));
    assertEquals(run.audit.some((e) => e.resource === refused && e.effect === "allow"), false);
  } finally {
    await host.close();
    await Deno.remove(tmp, { recursive: true });
  }
});
