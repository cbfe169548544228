/**
 * Own code is the agent's module graph (issue 16, class 3): the host resolves the graph before
 * start, exposes exactly its JavaScript/TypeScript modules (Deno flags and kernel rules), hashes
 * them into `codeDigest`, and decides every other file — data imports (`json`, `text`, `bytes`),
 * files next to the entry that the graph does not name, symlinks out — as `import` (or `fs.read`)
 * under policy, deny by default. The bundler decides every local file it would read.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createHash } from "node:crypto";
import type { AuditEntry } from "../../governance/audit/mod.ts";
import { ApprovalQueue } from "../../runtime/approvals/queue.ts";
import { loadPolicy } from "../../runtime/policy/loader.ts";
import { controlPlane } from "../../runtime/server/api.ts";
import { landlockSandbox } from "../../runtime/supervisor/sandbox/build.ts";
import { MAX_GRAPH_FILES, resolveGraph } from "../../runtime/supervisor/graph.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../policy/asserts.ts";
import { type Ctx, describe, newHost, type Run, withEscapeHost } from "./helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const SDK = new URL("../../sdk/mod.ts", import.meta.url).href;
const POLICIES = new URL("../../policies/", import.meta.url).pathname;
const OWN_AGENT = new URL("./agents/own/", import.meta.url).pathname;

/** The attempt reporter, inlined into generated agents (they may import nothing else). */
const ATTEMPT = `
async function attempt(step, fn) {
  let line;
  try {
    line = { step, ok: true, value: String(await fn()).slice(0, 2000) };
  } catch (e) {
    line = { step, ok: false, error: e?.name, message: String(e?.message).slice(0, 500) };
  }
  console.log("ESCAPE-ATTEMPT " + JSON.stringify(line));
}
`;

/** A fresh code directory holding `files`, with `secrets.json`, `.env` and `hidden.ts` beside. */
async function codeDir(
  ctx: Ctx,
  files: Record<string, string>,
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "warden-own-code-" }));
  await Deno.writeTextFile(join(dir, "secrets.json"), JSON.stringify({ marker: ctx.marker }));
  await Deno.writeTextFile(join(dir, ".env"), `TOKEN=${ctx.marker}\n`);
  await Deno.writeTextFile(join(dir, "hidden.ts"), `export const marker = "${ctx.marker}";\n`);
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, name), text);
  return { dir, remove: () => Deno.remove(dir, { recursive: true }) };
}

/** Fail unless some decision (any path) denied `resource`. */
function assertDeniedAnywhere(run: Run, resource: string, action?: string): void {
  const hit = run.audit.some((e) =>
    e.effect === "deny" && e.resource === resource && (action === undefined || e.action === action)
  );
  if (!hit) throw new Error(`no deny of ${resource} in the audit\n${describe(run)}`);
}

/** The agent did not run at all (its static graph could not load), and nothing leaked. */
function assertDidNotLoad(ctx: Ctx, run: Run): void {
  ctx.assertNoLeak(run);
  assertEquals(run.attempts, [], `the agent module must not run\n${describe(run)}`);
  if (run.exit.code === 0) throw new Error(`the agent loaded\n${describe(run)}`);
}

Deno.test(
  "own code 1: a static JSON import of a sibling secrets.json is refused",
  opts,
  async () => {
    await withEscapeHost(async (ctx) => {
      const c = await codeDir(ctx, {
        "agent.ts": `import s from "./secrets.json" with { type: "json" };\n${ATTEMPT}\n` +
          `await attempt("static json", () => JSON.stringify(s));\n`,
      });
      try {
        const run = await ctx.run({ module: join(c.dir, "agent.ts"), timeoutMs: 30_000 });
        assertDidNotLoad(ctx, run);
        assertDeniedAnywhere(run, pathToFileURL(join(c.dir, "secrets.json")).href, "import");
        await ctx.assertHostAlive();
      } finally {
        await c.remove();
      }
    });
  },
);

Deno.test(
  "own code 2: a static text import of a sibling .env (or source) is refused",
  opts,
  async () => {
    await withEscapeHost(async (ctx) => {
      const c = await codeDir(ctx, {
        "env.ts": `import s from "./.env" with { type: "text" };\n${ATTEMPT}\n` +
          `await attempt("static text", () => s);\n`,
        "source.ts": `import s from "./hidden.ts" with { type: "text" };\n${ATTEMPT}\n` +
          `await attempt("static text of source", () => s);\n`,
      });
      try {
        for (const [agent, file] of [["env.ts", ".env"], ["source.ts", "hidden.ts"]]) {
          const run = await ctx.run({ module: join(c.dir, agent), timeoutMs: 30_000 });
          assertDidNotLoad(ctx, run);
          assertDeniedAnywhere(run, pathToFileURL(join(c.dir, file)).href, "import");
        }
      } finally {
        await c.remove();
      }
    });
  },
);

Deno.test(
  "own code 3: dynamic literal and computed imports and reads of siblings are denied",
  opts,
  async () => {
    await withEscapeHost(async (ctx) => {
      const c = await codeDir(ctx, {
        "agent.ts": `${ATTEMPT}
await attempt("import literal json", async () =>
  JSON.stringify((await import("./secrets.json", { with: { type: "json" } })).default));
await attempt("import literal text", async () =>
  (await import("./.env", { with: { type: "text" } })).default);
await attempt("import literal bytes", async () =>
  new TextDecoder().decode((await import("./.env", { with: { type: "bytes" } })).default));
const computed = ["./hid", "den.ts"].join("");
await attempt("import computed ts", async () => (await import(computed)).marker);
await attempt("import computed URL", async () =>
  (await import(new URL("./" + "hidden.ts", import.meta.url).href)).marker);
const json = ["./secr", "ets.json"].join("");
await attempt("import computed json", async () =>
  JSON.stringify((await import(json, { with: { type: "json" } })).default));
await attempt("read sibling", () => Deno.readTextFileSync(new URL("./secrets.json", import.meta.url)));
await attempt("read sibling .env", () => Deno.readTextFileSync(new URL("./.env", import.meta.url)));
await attempt("read sibling (re-spelled)", () =>
  Deno.readTextFileSync(new URL("./x/../secrets.json", import.meta.url)));
await attempt("read own dir", () => [...Deno.readDirSync(new URL("./", import.meta.url))].map((e) => e.name).join());
await attempt("worker of sibling", () => new Promise((resolve, reject) => {
  const w = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
  w.onmessage = (e) => { w.terminate(); resolve(e.data); };
  w.onerror = (e) => { e.preventDefault(); w.terminate(); reject(new Error(e.message)); };
}));
console.log("ESCAPE-DONE");
`,
        "worker.ts": `self.postMessage("${ctx.marker}");\n`,
      });
      try {
        const run = await ctx.run({ module: join(c.dir, "agent.ts"), timeoutMs: 30_000 });
        ctx.assertNoLeak(run);
        ctx.assertAllFailed(run, [
          "import literal json",
          "import literal text",
          "import literal bytes",
          "import computed ts",
          "import computed URL",
          "import computed json",
          "read sibling",
          "read sibling .env",
          "read sibling (re-spelled)",
          "read own dir",
          "worker of sibling",
        ]);
        assertDeniedAnywhere(run, pathToFileURL(join(c.dir, "secrets.json")).href, "import");
        assertDeniedAnywhere(run, pathToFileURL(join(c.dir, "hidden.ts")).href, "import");
        assertDeniedAnywhere(run, pathToFileURL(join(c.dir, ".env")).href, "import");
      } finally {
        await c.remove();
      }
    });
  },
);

Deno.test(
  "own code 4: symlinks in the code dir do not reach what they point at",
  opts,
  async () => {
    await withEscapeHost(async (ctx) => {
      await Deno.writeTextFile(
        join(ctx.secretDir, "evil.ts"),
        `export const marker = "${ctx.marker}";\n`,
      );
      const c = await codeDir(ctx, {
        "agent.ts": `${ATTEMPT}
await attempt("import link json", async () =>
  JSON.stringify((await import("./link.json", { with: { type: "json" } })).default));
await attempt("import link dir", async () =>
  JSON.stringify((await import("./sub/secret.json", { with: { type: "json" } })).default));
await attempt("import link ts", async () => (await import("./evil.ts")).marker);
await attempt("read link", () => Deno.readTextFileSync(new URL("./link.json", import.meta.url)));
await attempt("import alias of sibling", async () =>
  (await import("./alias.txt", { with: { type: "text" } })).default);
console.log("ESCAPE-DONE");
`,
      });
      await Deno.symlink(ctx.secretPath, join(c.dir, "link.json"));
      await Deno.symlink(ctx.secretDir, join(c.dir, "sub"));
      await Deno.symlink(join(ctx.secretDir, "evil.ts"), join(c.dir, "evil.ts"));
      await Deno.symlink(join(c.dir, "secrets.json"), join(c.dir, "alias.txt"));
      try {
        const run = await ctx.run({ module: join(c.dir, "agent.ts"), timeoutMs: 30_000 });
        ctx.assertNoLeak(run);
        ctx.assertAllFailed(run, [
          "import link json",
          "import link dir",
          "import link ts",
          "read link",
          "import alias of sibling",
        ]);
        ctx.assertDenied(run, "fs.read", ctx.secretPath);
      } finally {
        await c.remove();
      }
    });
  },
);

Deno.test(
  "own code 5: a policy that allows every import still cannot widen the kernel's view",
  { ...opts, ignore: landlockSandbox().path === null },
  async () => {
    const extra = await Deno.makeTempFile({ prefix: "warden-own-allow-", suffix: ".yaml" });
    await Deno.writeTextFile(
      extra,
      `apiVersion: warden/v1
kind: Policy
name: allow-every-import
rules:
  - id: allow-every-import
    effect: allow
    action: import
`,
    );
    await withEscapeHost(async (ctx) => {
      const c = await codeDir(ctx, {
        "agent.ts": `${ATTEMPT}
const computed = ["./hid", "den.ts"].join("");
await attempt("import computed ts", async () => (await import(computed)).marker);
await attempt("read sibling", () => Deno.readTextFileSync(new URL("./secrets.json", import.meta.url)));
console.log("ESCAPE-DONE");
`,
      });
      const host = newHost({
        policy: loadPolicy([join(POLICIES, "agents.yaml"), extra], { builtin: true }),
      });
      try {
        const h = await host.start({
          module: join(c.dir, "agent.ts"),
          workspace: ctx.workspace,
          timeoutMs: 30_000,
        });
        const [stdout, stderr, exit] = await Promise.all([
          new Response(h.process.stdout!).text(),
          new Response(h.process.stderr!).text(),
          h.exited,
        ]);
        const why = `exit ${JSON.stringify(exit)}\n${stdout}\n${stderr}`;
        assert(!stdout.includes(ctx.marker) && !stderr.includes(ctx.marker), `LEAK\n${why}`);
        assert(stdout.includes("ESCAPE-DONE"), why);
        assertEquals(
          stdout.split("\n").filter((l) => l.includes('"ok":true')),
          [],
          why,
        );
      } finally {
        await host.close();
        await c.remove();
        await Deno.remove(extra);
      }
    });
  },
);

Deno.test(
  "own code 6: a multi-file agent (entry, helper, lazy module, SDK) still runs",
  opts,
  async () => {
    await withEscapeHost(async (ctx) => {
      const run = await ctx.run({ module: join(OWN_AGENT, "main.ts"), timeoutMs: 30_000 });
      assertEquals(run.exit, { code: 0, signal: null, killed: null }, describe(run));
      const out = run.audit.filter((e) => e.action === "output.emit" && e.effect === "allow");
      assertEquals(out.length, 1, describe(run));
      assert(run.stdout.includes("own agent: 42 lazy"), describe(run));
    });
  },
);

/** The digest as README defines it, computed independently. */
async function expectedDigest(files: string[]): Promise<string> {
  const lines = [];
  for (const f of files) {
    const hash = createHash("sha256").update(await Deno.readFile(f)).digest("hex");
    lines.push(`${hash} ${pathToFileURL(f).href}\n`);
  }
  lines.sort((a, b) => {
    const ua = a.slice(65), ub = b.slice(65);
    return ua < ub ? -1 : ua > ub ? 1 : 0;
  });
  return `sha256:${createHash("sha256").update(lines.join("")).digest("hex")}`;
}

Deno.test(
  "own code 7: the graph's digest is in agent.start and changes with the code",
  opts,
  async () => {
    await withEscapeHost(async (ctx) => {
      const c = await codeDir(ctx, {
        "agent.ts": `import { n } from "./helper.ts";\nconsole.log("n=" + n);\n`,
        "helper.ts": `export const n = 1;\n`,
        "unused.ts": `export const u = 0;\n`,
      });
      try {
        const start = (run: Run): AuditEntry => {
          const e = run.audit.find((x) => x.action === "agent.start");
          if (!e) throw new Error(`no agent.start entry\n${describe(run)}`);
          return e;
        };
        const first = await ctx.run({ module: join(c.dir, "agent.ts"), timeoutMs: 30_000 });
        assertEquals(first.exit.code, 0, describe(first));
        const d1 = start(first).codeDigest as string;
        assertMatch(String(d1), /^sha256:[0-9a-f]{64}$/);
        assertEquals(first.handle.ref.codeDigest, d1);
        assertEquals(first.handle.codeDigest, d1);
        assertEquals(
          [...(first.handle.ref.codeFiles ?? [])].sort(),
          [join(c.dir, "agent.ts"), join(c.dir, "helper.ts")],
        );
        assertEquals(d1, await expectedDigest([join(c.dir, "agent.ts"), join(c.dir, "helper.ts")]));

        // A file outside the graph does not change the digest; a code file does.
        await Deno.writeTextFile(join(c.dir, "unused.ts"), `export const u = 1;\n`);
        const same = await ctx.run({ module: join(c.dir, "agent.ts"), timeoutMs: 30_000 });
        assertEquals(start(same).codeDigest, d1);
        await Deno.writeTextFile(join(c.dir, "helper.ts"), `export const n = 2;\n`);
        const second = await ctx.run({ module: join(c.dir, "agent.ts"), timeoutMs: 30_000 });
        assertEquals(second.exit.code, 0, describe(second));
        const d2 = start(second).codeDigest;
        assert(d2 !== d1, "the digest did not change with the code");
        assertEquals(d2, await expectedDigest([join(c.dir, "agent.ts"), join(c.dir, "helper.ts")]));
      } finally {
        await c.remove();
      }
    });
  },
);

Deno.test(
  "own code 8: --bundle decides every local file; a sibling secret refuses the bundle",
  { ...opts, ignore: landlockSandbox().path === null },
  async () => {
    await withEscapeHost(async (ctx) => {
      const c = await codeDir(ctx, {
        "json.ts":
          `import s from "./secrets.json" with { type: "json" };\nconsole.log(s.marker);\n`,
        "text.ts": `import s from "./.env" with { type: "text" };\nconsole.log(s);\n`,
        "via.ts": `import { leak } from "./leaky.ts";\nconsole.log(leak);\n`,
        "leaky.ts":
          `import s from "./secrets.json" with { type: "json" };\nexport const leak = s;\n`,
        "lazy.ts": `const m = await import("./secrets.json", { with: { type: "json" } });\n` +
          `console.log(m.default.marker);\n`,
        "ok.ts": `import { z } from "zod";\nimport { emit } from "${SDK}";\n` +
          `import { n } from "./helper.ts";\nawait emit(z.object({ n: z.number() }).parse({ n }));\n`,
        "helper.ts": `export const n = 42;\n`,
      });
      try {
        for (
          const [name, file] of [
            ["json.ts", "secrets.json"],
            ["text.ts", ".env"],
            ["via.ts", "secrets.json"],
            ["lazy.ts", "secrets.json"],
          ]
        ) {
          const err = await assertRejects(
            () => ctx.host.start({ module: join(c.dir, name), bundle: true, stdio: "null" }),
          );
          assertMatch(err.message, /^cannot start agent .*: bundling .* refused/, name);
          assert(err.message.includes(file), `${name}: the refusal must name ${file}`);
          assert(!err.message.includes("\n"), `${name}: one line`);
          assert(!err.message.includes(ctx.marker), `${name}: the secret leaked into the error`);
          const url = pathToFileURL(join(c.dir, file)).href;
          assert(
            ctx.host.audit.recent.some((e) =>
              e.action === "import" && e.resource === url && e.effect === "deny" &&
              e.agent.name === name.replace(/\.ts$/, "")
            ),
            `${name}: the bundler's refusal of ${file} is not audited as the agent`,
          );
        }
        // Nothing was bundled with the secret in it.
        for (const e of Deno.readDirSync(ctx.host.stateDir)) {
          try {
            for (const f of Deno.readDirSync(join(ctx.host.stateDir, e.name, "code"))) {
              const text = Deno.readTextFileSync(join(ctx.host.stateDir, e.name, "code", f.name));
              assert(!text.includes(ctx.marker), "secret bundled");
            }
          } catch (x) {
            if (!(x instanceof Deno.errors.NotFound)) throw x;
          }
        }
        // A legitimate multi-file bundle runs, and each file the bundler read was decided.
        const h = await ctx.host.start({
          module: join(c.dir, "ok.ts"),
          bundle: true,
          stdio: "null",
        });
        assertEquals((await h.exited).code, 0);
        const decided = ctx.host.audit.recent.filter((e) =>
          e.agent.name === "ok" && e.action === "import" && e.effect === "allow" &&
          e.path === "host"
        ).map((e) => e.resource);
        for (const f of ["ok.ts", "helper.ts"]) {
          assert(decided.includes(pathToFileURL(join(c.dir, f)).href), `${f} was not decided`);
        }
        assert(
          ctx.host.audit.recent.some((e) =>
            e.agent.name === "ok" && e.action === "output.emit" && e.effect === "allow"
          ),
          "the bundled agent did not emit",
        );
      } finally {
        await c.remove();
      }
    });
  },
);

Deno.test(
  "own code 9: Deno's flags name the graph's files, not the directory; the API shows the digest",
  opts,
  async () => {
    await withEscapeHost(async (ctx) => {
      const c = await codeDir(ctx, {
        "agent.ts": `import { n } from "./helper.ts";\n` +
          `await Deno.stdin.read(new Uint8Array(1));\nconsole.log("n=" + n);\n`,
        "helper.ts": `export const n = 1;\n`,
      });
      const approvals = new ApprovalQueue(ctx.host.governor, 60_000);
      const app = controlPlane(ctx.host, {
        tokens: [{ token: "v".repeat(32), name: "viv", role: "viewer" }],
        approvals,
        policyPaths: [join(POLICIES, "agents.yaml")],
      });
      const h = await ctx.host.start({
        module: join(c.dir, "agent.ts"),
        workspace: ctx.workspace,
        stdin: "piped",
        stdio: "null",
        timeoutMs: 30_000,
      });
      try {
        // The wrappers exec one another: wait until the pid is the Deno process itself.
        let argv: string[] = [];
        for (let i = 0; i < 200 && !argv.some((a) => a.startsWith("--allow-read=")); i++) {
          argv = Deno.readTextFileSync(`/proc/${h.pid}/cmdline`).split("\0");
          await new Promise((r) => setTimeout(r, 25));
        }
        const read = argv.find((a) => a.startsWith("--allow-read="));
        assert(read, `no --allow-read flag in ${JSON.stringify(argv)}`);
        const names = read.slice("--allow-read=".length).split(",");
        assert(names.includes(join(c.dir, "agent.ts")), read);
        assert(names.includes(join(c.dir, "helper.ts")), read);
        assert(!names.includes(c.dir), `the code directory is named: ${read}`);
        assert(!names.some((p) => p.endsWith("secrets.json") || p.endsWith("hidden.ts")), read);

        const r = await app.request("/api/agents", {
          headers: { authorization: `Bearer ${"v".repeat(32)}` },
        });
        const listed = (await r.json()) as { id: string; codeDigest?: string }[];
        assertEquals(listed.find((a) => a.id === h.id)?.codeDigest, h.codeDigest);
        assertMatch(String(h.codeDigest), /^sha256:[0-9a-f]{64}$/);
      } finally {
        const w = h.process.stdin.getWriter();
        await w.write(new Uint8Array([10])).catch(() => {});
        await w.close().catch(() => {});
        await h.exited;
        await c.remove();
      }
    });
  },
);

Deno.test(
  "own code 10: what cannot be own code is refused at start, in one line",
  opts,
  async () => {
    await withEscapeHost(async (ctx) => {
      const c = await codeDir(ctx, {
        "broken.ts": `export const = ;\n`,
        "in_ws.ts": `console.log("hi");\n`,
        "big.ts": Array.from({ length: MAX_GRAPH_FILES + 1 }, (_, i) => `import "./m/${i}.ts";`)
          .join("\n"),
      });
      await Deno.mkdir(join(c.dir, "m"));
      for (let i = 0; i <= MAX_GRAPH_FILES; i++) {
        await Deno.writeTextFile(join(c.dir, "m", `${i}.ts`), `export {};\n`);
      }
      await Deno.mkdir(join(c.dir, "a,b"));
      await Deno.writeTextFile(join(c.dir, "a,b", "comma.ts"), `console.log("hi");\n`);
      try {
        const cases: [string, Partial<{ workspace: string }>, RegExp][] = [
          ["broken.ts", {}, /agent module .*broken\.ts is not own code: /],
          ["in_ws.ts", { workspace: c.dir }, /own code .*in_ws\.ts lies in the agent's workspace/],
          ["big.ts", {}, /too big to expose file by file .* start it with bundle: true/],
          ["a,b/comma.ts", {}, /has a comma in its path/],
        ];
        for (const [file, extra, re] of cases) {
          const err = await assertRejects(() =>
            ctx.host.start({ module: join(c.dir, file), stdio: "null", ...extra })
          );
          assertMatch(err.message, /^cannot start agent /, file);
          assertMatch(err.message, re, file);
          assert(!err.message.includes("\n"), `${file}: one line: ${err.message}`);
        }
        // A ring that may write anywhere could rewrite its code wherever it lies: not refused.
        const ring0 = await ctx.host.start({
          module: join(c.dir, "in_ws.ts"),
          workspace: c.dir,
          ring: 0,
          stdio: "null",
        });
        assertEquals((await ring0.exited).code, 0);
        // Resolving the graph has a deadline.
        await Deno.mkdir(join(ctx.outsideDir, "cache"), { recursive: true });
        const err = await assertRejects(() =>
          resolveGraph(join(c.dir, "big.ts"), {
            deno: Deno.execPath(),
            codeDir: c.dir,
            sdk: c.dir,
            flags: ["--no-config", "--no-lock", "--no-remote", "--no-npm"],
            cwd: ctx.outsideDir,
            denoDir: join(ctx.outsideDir, "cache"),
            timeoutMs: 1,
          })
        );
        assertMatch(err.message, /resolving the module graph timed out after 1 ms/);
      } finally {
        await c.remove();
      }
    });
  },
);

Deno.test(
  "own code 11: a workspace inside the code dir is a workspace; its neighbours stay refused",
  opts,
  async () => {
    await withEscapeHost(async (ctx) => {
      const c = await codeDir(ctx, {
        "agent.ts": `${ATTEMPT}
await attempt("workspace file", () => Deno.readTextFileSync("note.txt"));
await attempt("sibling secret", () => Deno.readTextFileSync("../secrets.json"));
const wsModule = ["./ws/", "mod.ts"].join("");
await attempt("workspace module", async () => (await import(wsModule)).v);
console.log("ESCAPE-DONE");
`,
      });
      const ws = join(c.dir, "ws");
      await Deno.mkdir(ws);
      await Deno.writeTextFile(join(ws, "note.txt"), "workspace note");
      await Deno.writeTextFile(join(ws, "mod.ts"), `export const v = "from the workspace";\n`);
      try {
        const h = await ctx.host.start({ module: join(c.dir, "agent.ts"), workspace: ws });
        const [stdout, exit] = await Promise.all([
          new Response(h.process.stdout!).text(),
          h.exited,
          new Response(h.process.stderr!).text(),
        ]);
        const lines = stdout.split("\n").filter((l) => l.startsWith("ESCAPE-ATTEMPT "))
          .map((l) => JSON.parse(l.slice(15)) as { step: string; ok: boolean; value?: string });
        const why = `${JSON.stringify(exit)}\n${stdout}`;
        assertEquals(lines.map((l) => [l.step, l.ok]), [
          ["workspace file", true],
          ["sibling secret", false],
          ["workspace module", true],
        ], why);
        const url = pathToFileURL(join(ws, "mod.ts")).href;
        assert(
          ctx.host.audit.recent.some((e) =>
            e.agent.id === h.id && e.action === "fs.read" && e.resource === join(ws, "mod.ts") &&
            e.effect === "allow"
          ),
          `${url} was not decided as fs.read of the workspace\n${why}`,
        );
        assert(!stdout.includes(ctx.marker), `LEAK\n${why}`);
      } finally {
        await c.remove();
      }
    });
  },
);
