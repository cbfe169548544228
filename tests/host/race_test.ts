/**
 * Issue 16 class 1: decisions are made on what will actually be opened. An agent that flips
 * its working directory (from a Worker) while reading a relative path must not get a file the
 * broker refuses, and the audit must name the path the kernel would open.
 */
import { join, resolve } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { loadPolicy } from "../../runtime/policy/loader.ts";
import { mapPermission } from "../../runtime/broker/map.ts";
import { collectRun, describe, escapeAgent, newHost } from "./helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "race: a Worker flipping the cwd cannot make a relative read reach a denied file",
  opts,
  async () => {
    const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-race-" }));
    const policyFile = join(tmp, "private.yaml");
    await Deno.writeTextFile(
      policyFile,
      [
        "apiVersion: warden/v1",
        "kind: Policy",
        "name: race-private",
        "rules:",
        "  - id: private-never",
        "    effect: deny",
        "    action: [fs.read, fs.write]",
        '    when: { path: { within: ["${workspace}/sub/private"] } }',
        "",
      ].join("\n"),
    );
    const host = newHost({
      policy: loadPolicy([join(ROOT, "policies/agents.yaml"), policyFile], { builtin: true }),
    });
    const ws = join(tmp, "ws");
    const marker = `RACE-MARKER-${crypto.randomUUID()}`;
    const decoy = "public decoy";
    // From ws, "private/s" is the decoy ws/private/s; from ws/sub it is ws/sub/private/s,
    // which the deny rule covers.
    for (const d of ["private", "sub/private"]) {
      await Deno.mkdir(join(ws, d), { recursive: true });
    }
    await Deno.writeTextFile(join(ws, "private/s"), decoy);
    await Deno.writeTextFile(join(ws, "sub/private/s"), marker);
    const rel = "private/s";
    await Deno.writeTextFile(
      join(ws, "params.json"),
      JSON.stringify({ a: ws, b: join(ws, "sub"), rel, decoy, ms: 3000, reads: 2000 }),
    );
    try {
      // Asked directly, the broker refuses the private file.
      const handle = await host.start({
        module: escapeAgent("cwd_race.ts"),
        workspace: ws,
        timeoutMs: 60_000,
      });
      const run = await collectRun(host, handle);
      const { stdout, stderr } = run;
      const problems: string[] = [];
      if (stdout.includes(marker) || stderr.includes(marker)) {
        problems.push("the denied file's content reached the agent (race won)");
      }
      for (const a of run.attempts.filter((a) => a.ok)) {
        problems.push(`attempt "${a.step}" succeeded: ${a.value}`);
      }
      // Every decision on the relative path names what the kernel opens from the workspace
      // (the working directory the agent cannot leave).
      const opened = resolve(ws, rel);
      const named = new Set(
        run.audit.filter((e) =>
          e.path === "broker" && e.action === "fs.read" && e.resource.endsWith("/private/s")
        ).map((e) => `${e.effect} ${e.resource}`),
      );
      const wrong = [...named].filter((n) => !n.endsWith(` ${opened}`));
      if (wrong.length > 0) problems.push(`audit names paths never opened: ${wrong.join(", ")}`);
      if (problems.length > 0) {
        throw new Error(`ESCAPE:\n  ${problems.join("\n  ")}\n${describe(run)}`);
      }
      assertEquals(run.attempts.map((a) => a.step), ["worker chdir", "race read"], describe(run));
      assertEquals(run.done, true, describe(run));
      assertEquals(named.has(`allow ${opened}`), true, describe(run));
    } finally {
      await host.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
);

const check = (permission: "read" | "write", value: string) => ({
  v: 1 as const,
  pid: Deno.pid,
  id: 1,
  permission,
  value,
});

Deno.test("race: relative paths resolve against the workspace, never the cwd at check time", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-map-" }));
  try {
    const roots = { code: "/nonexistent/code", sdk: "/nonexistent/sdk", tmp: join(tmp, "t") };
    // This process's cwd is not `tmp`: a relative path is refused (it could change before
    // the open), and still named as resolved against the workspace.
    const elsewhere = mapPermission(check("read", "a/../b"), { ...roots, cwd: tmp }, Deno.pid);
    assertEquals(elsewhere.resource, join(tmp, "b"));
    if (!elsewhere.refuse?.includes("not the workspace")) throw new Error(elsewhere.refuse);
    // Where the launcher pins the cwd (seccomp: chdir fails), it is the workspace by
    // construction: no /proc lookup, no refusal; the path is still resolved there.
    const pinned = mapPermission(
      check("read", "a/../b"),
      { ...roots, cwd: tmp, cwdPinned: true },
      Deno.pid,
    );
    assertEquals([pinned.resource, pinned.refuse], [join(tmp, "b"), undefined]);
    // Absolute paths do not depend on the cwd.
    const abs = mapPermission(check("read", join(tmp, "x")), { ...roots, cwd: tmp }, Deno.pid);
    assertEquals([abs.resource, abs.refuse], [join(tmp, "x"), undefined]);
    const here = await Deno.realPath(Deno.cwd());
    const rel = mapPermission(check("read", "x"), { ...roots, cwd: here }, Deno.pid);
    assertEquals([rel.resource, rel.refuse], [join(here, "x"), undefined]);
    // `<TMP>` is the temp directory (and the literal file); other placeholders are refused.
    const t = mapPermission(check("write", "<TMP>"), { ...roots, cwd: here }, Deno.pid);
    assertEquals([t.action, t.resource, t.refuse], ["fs.write", join(tmp, "t"), undefined]);
    assertEquals(t.also?.resource, join(here, "<TMP>"));
    const other = mapPermission(check("write", "<CWD>"), { ...roots, cwd: here }, Deno.pid);
    if (!other.refuse?.includes("placeholder <CWD>")) throw new Error(other.refuse);
    const noTmp = mapPermission(
      check("write", "<TMP>"),
      { ...roots, tmp: undefined, cwd: here },
      Deno.pid,
    );
    if (!noTmp.refuse?.includes("placeholder <TMP>")) throw new Error(noTmp.refuse);
    // In a read, `<TMP>` names no path (nor can it be told from a file literally so named).
    const lit = mapPermission(check("read", "<TMP>"), { ...roots, cwd: here }, Deno.pid);
    assertEquals(lit.resource, join(here, "<TMP>"));
    if (!lit.refuse?.includes("placeholder <TMP>")) throw new Error(lit.refuse);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
