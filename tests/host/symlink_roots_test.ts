/**
 * Issue 16 class 5 end to end: a deny rule whose root is written through a symlink holds for
 * an agent reading through the real path (the broker resolves requests through symlinks; the
 * loader resolves policy roots the same way), for a static root and for one with
 * `${workspace}`, and a reload re-resolves a link that changed.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { loadPolicy } from "../../runtime/policy/loader.ts";
import { collectRun, describe, escapeAgent, newHost, type Run } from "./helpers.ts";
import type { AgentHost } from "../../runtime/host.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const opts = { sanitizeResources: false, sanitizeOps: false };
const STEPS = ["readTextFile", "readTextFileSync", "open+read", "readFile(file URL)"];

async function readAs(host: AgentHost, ws: string, secret: string): Promise<Run> {
  await Deno.writeTextFile(join(ws, "params.json"), JSON.stringify({ secret }));
  const handle = await host.start({
    module: escapeAgent("read_file.ts"),
    workspace: ws,
    timeoutMs: 30_000,
  });
  return await collectRun(host, handle);
}

function assertRefused(run: Run, marker: string, real: string): void {
  if (run.stdout.includes(marker) || run.stderr.includes(marker)) {
    throw new Error(`LEAK through a symlinked rule root\n${describe(run)}`);
  }
  assertEquals(
    run.attempts.map((a) => [a.step, a.ok]),
    STEPS.map((s) => [s, false]),
    describe(run),
  );
  const deny = run.audit.find((e) =>
    e.path === "broker" && e.effect === "deny" && e.resource === real && e.rule === "no-private"
  );
  if (!deny) throw new Error(`no deny by no-private of ${real}\n${describe(run)}`);
}

Deno.test(
  "symlinked rule roots: a deny written through a link holds for the real path",
  opts,
  async () => {
    const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-roots-" }));
    const ws = join(tmp, "ws");
    const marker = `ROOTS-MARKER-${crypto.randomUUID()}`;
    // ws/real/private/s (and ws/real/inner/s) exist; ws/link -> ws/real, ws/inlink -> ws/real.
    for (const d of ["real/private", "real/inner", "other/private"]) {
      await Deno.mkdir(join(ws, d), { recursive: true });
    }
    await Deno.writeTextFile(join(ws, "real/private/s"), marker);
    await Deno.writeTextFile(join(ws, "real/inner/s"), marker);
    await Deno.writeTextFile(join(ws, "other/private/s"), marker);
    await Deno.symlink(join(ws, "real"), join(ws, "link"));
    await Deno.symlink(join(ws, "real"), join(ws, "inlink"));
    const policyFile = join(tmp, "private.yaml");
    await Deno.writeTextFile(
      policyFile,
      [
        "apiVersion: warden/v1",
        "kind: Policy",
        "name: private",
        "rules:",
        "  - id: no-private",
        "    effect: deny",
        "    action: fs.read",
        `    when: { path: { within: ["${
          join(ws, "link/private")
        }", "\${workspace}/inlink/inner"] } }`,
        "",
      ].join("\n"),
    );
    const load = () =>
      loadPolicy([join(ROOT, "policies/agents.yaml"), policyFile], { builtin: true });
    const host = newHost({ policy: load() });
    try {
      // Static root written through the link; the agent names the real path.
      const real = join(ws, "real/private/s");
      assertRefused(await readAs(host, ws, real), marker, real);
      // Root with ${workspace}, resolved after substitution.
      const inner = join(ws, "real/inner/s");
      assertRefused(await readAs(host, ws, inner), marker, inner);
      // The link changes: until a reload the root stays as resolved at load time...
      await Deno.remove(join(ws, "link"));
      await Deno.symlink(join(ws, "other"), join(ws, "link"));
      const moved = join(ws, "other/private/s");
      const before = await readAs(host, ws, moved);
      assertEquals(before.attempts.every((a) => a.ok), true, describe(before));
      // ...and a reload resolves it again.
      const r = host.delivery.reload(load);
      assertEquals(r.ok, true, JSON.stringify(r));
      assertRefused(await readAs(host, ws, moved), marker, moved);
    } finally {
      await host.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
);
