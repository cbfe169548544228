/**
 * Issue 16 class 2: kernel confinement is the default and cannot silently fall away; running
 * without it is an explicit opt-out that is warned about, audited, and refused for rings 2
 * and 3 unless asked a second time. Deno's `<TMP>` is the agent's own temp directory.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { sandboxFromFlags, unconfinedRefusal } from "../../runtime/supervisor/sandbox/mode.ts";
import { describe, escapeAgent, newHost, parseAttempts } from "./helpers.ts";
import { runDeno } from "../cli/run.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const kernel = { path: "/bin/launcher", why: "" };
const none = { path: null, why: "Landlock is not available" };

Deno.test("sandbox mode: require is the default and auto no longer falls back", () => {
  assertEquals(unconfinedRefusal({}, kernel, 2), null);
  for (const sandbox of [undefined, "auto", "require"] as const) {
    assertEquals(
      unconfinedRefusal({ sandbox }, none, 0),
      "kernel sandbox required but unavailable: Landlock is not available",
    );
  }
});

Deno.test("sandbox mode: the CLI flags are explicit opt-outs, the second needs the first", () => {
  assertEquals(sandboxFromFlags({}), { sandbox: "require" });
  assertEquals(sandboxFromFlags({ "unsafe-no-sandbox": true }), {
    sandbox: "off",
    unsafeUnconfinedRings: false,
  });
  assertEquals(
    sandboxFromFlags({ "unsafe-no-sandbox": true, "unsafe-allow-unconfined-rings": true }),
    { sandbox: "off", unsafeUnconfinedRings: true },
  );
  assertEquals(
    sandboxFromFlags({ "unsafe-allow-unconfined-rings": true }),
    "--unsafe-allow-unconfined-rings needs --unsafe-no-sandbox",
  );
});

Deno.test("sandbox mode: off refuses rings 2 and 3 unless asked a second time", () => {
  for (const ring of [2, 3]) {
    const why = unconfinedRefusal({ sandbox: "off" }, none, ring) ?? "";
    if (!why.includes(`ring ${ring} agents need the kernel sandbox`)) throw new Error(why);
    assertEquals(
      unconfinedRefusal({ sandbox: "off", unsafeUnconfinedRings: true }, none, ring),
      null,
    );
  }
  assertEquals(unconfinedRefusal({ sandbox: "off" }, none, 1), null);
  assertEquals(unconfinedRefusal({ sandbox: "off" }, none, 0), null);
});

Deno.test(
  "sandbox off: a ring 2 agent is refused; with the second opt-out it runs, audited as unconfined",
  opts,
  async () => {
    const ws = await Deno.makeTempDir({ prefix: "warden-off-" });
    const refusing = newHost({ sandbox: "off" });
    const unsafe = newHost({ sandbox: "off", unsafeUnconfinedRings: true });
    try {
      let msg = "";
      try {
        await refusing.start({ module: escapeAgent("trivial.ts"), workspace: ws });
      } catch (e) {
        msg = (e as Error).message;
      }
      if (!msg.includes("ring 2 agents need the kernel sandbox; sandbox is off")) {
        throw new Error(`expected a refusal, got: ${msg}`);
      }
      const h = await unsafe.start({ module: escapeAgent("trivial.ts"), workspace: ws });
      const [out] = await Promise.all([new Response(h.process.stdout!).text(), h.exited]);
      if (!out.includes("trivial agent alive")) throw new Error(`agent did not run: ${out}`);
      const start = unsafe.audit.recent.find((e) => e.action === "agent.start");
      assertEquals(start?.sandbox, "off");
      if (!start?.reason.includes("UNSAFE: kernel sandbox disabled")) {
        throw new Error(`agent.start does not say it is unconfined: ${start?.reason}`);
      }
    } finally {
      await refusing.close();
      await unsafe.close();
      await Deno.remove(ws, { recursive: true });
    }
  },
);

Deno.test("sandbox on: agent.start records the kernel sandbox", opts, async () => {
  const host = newHost();
  const ws = await Deno.makeTempDir({ prefix: "warden-on-" });
  try {
    const h = await host.start({ module: escapeAgent("trivial.ts"), workspace: ws });
    await Promise.all([new Response(h.process.stdout!).text(), h.exited]);
    const start = host.audit.recent.find((e) => e.action === "agent.start");
    assertEquals(start?.sandbox, "kernel");
  } finally {
    await host.close();
    await Deno.remove(ws, { recursive: true });
  }
});

Deno.test(
  "<TMP>: temp files land in the agent's own temp directory, decided as that path",
  opts,
  async () => {
    const host = newHost();
    const ws = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-tmp-" }));
    try {
      const h = await host.start({
        module: escapeAgent("temp_paths.ts"),
        workspace: ws,
        timeoutMs: 30_000,
      });
      const [stdout, stderr, exit] = await Promise.all([
        new Response(h.process.stdout!).text(),
        new Response(h.process.stderr!).text(),
        h.exited,
      ]);
      const audit = host.audit.recent.filter((e) => e.agent.id === h.id && e.path === "broker");
      const run = {
        handle: h,
        exit,
        stdout,
        stderr,
        attempts: parseAttempts(stdout),
        done: true,
        audit,
      };
      const tmp = join(ws, ".warden-tmp");
      const [dir, file, cwd] = run.attempts;
      assertEquals([dir?.step, dir?.ok], ["makeTempDir", true], describe(run));
      assertEquals(dir.value!.startsWith(tmp + "/t-"), true, describe(run));
      assertEquals([file?.step, file?.ok], ["makeTempFile", true], describe(run));
      assertEquals(file.value!.startsWith(tmp + "/"), true, describe(run));
      assertEquals(Deno.readTextFileSync(file.value!), "scratch");
      // `<TMP>` was decided as the temp directory itself (and as the file Deno would open
      // if the name were literal), never as an unresolved placeholder.
      const tmpWrites = audit.filter((e) => e.action === "fs.write" && e.resource === tmp);
      assertEquals(
        tmpWrites.length >= 2 && tmpWrites.every((e) => e.effect === "allow"),
        true,
        describe(run),
      );
      assertEquals(
        audit.some((e) => e.resource === join(ws, "<TMP>") && e.effect === "allow"),
        true,
        describe(run),
      );
      // Any other placeholder is refused, and says why.
      assertEquals([cwd?.step, cwd?.ok], ["write <CWD>", false], describe(run));
      const refused = audit.find((e) =>
        e.action === "fs.write" && e.resource === join(ws, "<CWD>")
      );
      assertEquals(refused?.effect, "deny", describe(run));
      if (!refused?.reason.includes("placeholder <CWD>")) throw new Error(describe(run));
    } finally {
      await host.close();
      await Deno.remove(ws, { recursive: true });
    }
  },
);

Deno.test("deno task run: --unsafe-no-sandbox warns and still refuses ring 2 in one line", async () => {
  const run = (...a: string[]) => runDeno(["task", "-q", "run", escapeAgent("trivial.ts"), ...a]);
  const off = await run("--unsafe-no-sandbox");
  assertEquals(off.code, 1, off.stderr);
  const lines = off.stderr.trim().split("\n");
  assertEquals(lines.length, 2, off.stderr);
  if (!lines[0].startsWith("warden: WARNING: UNSAFE: kernel sandbox disabled")) {
    throw new Error(off.stderr);
  }
  if (!lines[1].startsWith("cannot start agent trivial: ring 2 agents need the kernel sandbox")) {
    throw new Error(off.stderr);
  }
  const both = await run("--unsafe-no-sandbox", "--unsafe-allow-unconfined-rings");
  assertEquals(both.code, 0, both.stderr);
  if (!both.stdout.includes("trivial agent alive")) throw new Error(both.stdout);
  const alone = await run("--unsafe-allow-unconfined-rings");
  assertEquals(alone.code, 2, alone.stderr);
  if (!alone.stderr.startsWith("--unsafe-allow-unconfined-rings needs --unsafe-no-sandbox")) {
    throw new Error(alone.stderr);
  }
});
