/**
 * Adversarial escape suite: agents at ring 2 under the shipped policy try raw Deno and node:
 * operations that would leave the sandbox. For each case the secret never reaches the agent's
 * output, the operation fails, the denial is audited, and the host keeps running agents.
 */
import { join, relative } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { EGRESS_ENV } from "../../runtime/egress/mod.ts";
import { type Ctx, describe, escapeAgent, newHost, type Run, withEscapeHost } from "./helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Run an escape agent that reads params.json; check no leak, all attempts failed, exit 0. */
async function escape(
  ctx: Ctx,
  agent: string,
  params: Record<string, unknown>,
  steps: string[],
  extraLeaks: string[] = [],
): Promise<Run> {
  ctx.params(params);
  const run = await ctx.run({ module: escapeAgent(agent), timeoutMs: 30_000 });
  ctx.assertNoLeak(run, extraLeaks);
  ctx.assertAllFailed(run, steps);
  assertEquals(run.exit, { code: 0, signal: null, killed: null }, describe(run));
  return run;
}

/** Run a resource-abuse agent (no attempts; it is expected to die). */
async function bomb(ctx: Ctx, agent: string, spec: Record<string, number>): Promise<Run> {
  const run = await ctx.run({ module: escapeAgent(agent), ...spec });
  ctx.assertNoLeak(run);
  if (!run.audit.some((e) => e.path === "host" && e.action === "agent.exit")) {
    throw new Error(`no agent.exit in the audit: ${JSON.stringify(run.audit)}`);
  }
  return run;
}

function assertKilled(run: Run, reason: string): void {
  assertEquals(run.exit.code, 137, JSON.stringify(run.exit));
  if (!run.exit.killed?.includes(reason)) {
    throw new Error(`expected a kill for "${reason}", got ${JSON.stringify(run.exit)}`);
  }
  const kill = run.audit.find((e) => e.path === "host" && e.action === "agent.kill");
  if (!kill || kill.effect !== "deny" || !kill.reason.includes(reason)) {
    throw new Error(`no agent.kill for "${reason}" in the audit: ${JSON.stringify(run.audit)}`);
  }
}

Deno.test("escape 1: Deno file APIs cannot read a file outside the workspace", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await escape(ctx, "read_file.ts", { secret: ctx.secretPath }, [
      "readTextFile",
      "readTextFileSync",
      "open+read",
      "readFile(file URL)",
    ]);
    ctx.assertDenied(run, "fs.read", ctx.secretPath);
    await ctx.assertHostAlive();
  });
});

Deno.test("escape 2: node:fs cannot read a file outside the workspace", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await escape(ctx, "node_fs.ts", { secret: ctx.secretPath }, [
      "readFileSync",
      "promises.readFile",
      "openSync+readSync",
      "createReadStream",
    ]);
    ctx.assertDenied(run, "fs.read", ctx.secretPath);
    await ctx.assertHostAlive();
  });
});

Deno.test(
  "escape 3: a static JSON import of the secret stops the agent loading",
  opts,
  async () => {
    await withEscapeHost(async (ctx) => {
      // The import specifier must be in the module text: generate the agent in its own code dir.
      const codeDir = await Deno.realPath(
        await Deno.makeTempDir({ prefix: "warden-escape-code-" }),
      );
      try {
        const module = join(codeDir, "static_json.ts");
        await Deno.writeTextFile(
          module,
          `import s from ${JSON.stringify(ctx.secretPath)} with { type: "json" };\n` +
            `console.log("ESCAPE-ATTEMPT " + JSON.stringify({ step: "static", ok: true, value: JSON.stringify(s) }));\n`,
        );
        const run = await ctx.run({ module, timeoutMs: 30_000 });
        ctx.assertNoLeak(run);
        assertEquals(run.attempts, [], "the agent module must not run");
        if (run.exit.code === 0) throw new Error(`the agent loaded: ${JSON.stringify(run.exit)}`);
        ctx.assertDenied(run, "fs.read", ctx.secretPath);
        await ctx.assertHostAlive();
      } finally {
        await Deno.remove(codeDir, { recursive: true });
      }
    });
  },
);

Deno.test("escape 4: a dynamic JSON import of the secret is denied", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await escape(ctx, "dynamic_json.ts", { secret: ctx.secretPath }, [
      "import(path)",
      "import(file URL)",
    ]);
    ctx.assertDenied(run, "fs.read", ctx.secretPath);
    await ctx.assertHostAlive();
  });
});

Deno.test("escape 5: the environment cannot be dumped", opts, async () => {
  await withEscapeHost(async (ctx) => {
    // A marker in the host's environment: the agent's environment is built from scratch, the
    // runtime's variables are deleted before its code runs, and an enumeration (denied by the
    // policy) is answered only with the agent's own synthetic variables (issue 19).
    Deno.env.set("WARDEN_ESCAPE_HOST_MARKER", ctx.marker);
    try {
      ctx.params({});
      const run = await ctx.run({ module: escapeAgent("env_dump.ts"), timeoutMs: 30_000 });
      ctx.assertNoLeak(run, ["DENO_PERMISSION_BROKER_PATH", "DENO_DIR", ctx.secretDir]);
      assertEquals(run.exit, { code: 0, signal: null, killed: null }, describe(run));
      const by = Object.fromEntries(run.attempts.map((a) => [a.step, a]));
      const env = JSON.parse(by["Deno.env.toObject"].value ?? "{}") as Record<string, string>;
      // Deno adds PATH (its node-compat shims, in the agent's own cache) and a shim flag; at
      // ring 2 the egress proxy's variables name 127.0.0.1 in the agent's own namespace.
      const own = ["DENO_NODE_SHIM_ACTIVE", "HOME", "NO_COLOR", "PATH", "TMPDIR", ...EGRESS_ENV];
      assertEquals(Object.keys(env).filter((k) => !own.includes(k)), [], describe(run));
      assertEquals(env.HOME, join(ctx.workspace, ".warden-home"));
      assertEquals(env.PATH === undefined || env.PATH.endsWith("/node_compat_bin"), true, env.PATH);
      assertEquals(by["Deno.env.get(broker path)"].ok, false);
      ctx.assertDenied(run, "env.get", "*");
      await ctx.assertHostAlive();
    } finally {
      Deno.env.delete("WARDEN_ESCAPE_HOST_MARKER");
    }
  });
});

Deno.test("escape 6: raw fetch to a loopback HTTP server is denied", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await escape(ctx, "fetch_loopback.ts", { port: ctx.http.port }, [
      "fetch 127.0.0.1 /api/",
      "fetch localhost",
      "fetch POST",
    ]);
    assertEquals(ctx.http.requests(), 0, "requests that reached the server");
    ctx.assertDenied(run, "net.connect", `127.0.0.1:${ctx.http.port}`);
    await ctx.assertHostAlive();
  });
});

Deno.test("escape 7: raw TCP to a loopback listener is denied", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await escape(ctx, "tcp_connect.ts", { port: ctx.tcp.port }, [
      "Deno.connect",
      "node:net",
    ]);
    assertEquals(ctx.tcp.accepted(), 0, "connections the listener accepted");
    ctx.assertDenied(run, "net.connect", `127.0.0.1:${ctx.tcp.port}`);
    await ctx.assertHostAlive();
  });
});

Deno.test("escape 8: Deno.Command cannot start a shell", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await escape(ctx, "command.ts", {}, [
      "Command(sh).output",
      "Command(/bin/sh).output",
      "Command(/bin/sh).outputSync",
      "Command(/bin/sh).spawn",
    ], ["42RUN"]);
    ctx.assertDenied(run, "run", "*");
    ctx.assertDenied(run, "run", (r) => r.endsWith("/sh"));
    await ctx.assertHostAlive();
  });
});

Deno.test("escape 9: node:child_process cannot start a shell", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await escape(ctx, "child_process.ts", {}, [
      "execSync",
      "spawnSync",
      "execFileSync",
      "exec",
    ], ["42RUN"]);
    // node:child_process reads the whole environment first (env.get "*"), then asks for run.
    const denied = run.audit.some((e) =>
      e.path === "broker" && e.effect === "deny" &&
      ((e.action === "env.get" && e.resource === "*") || e.action === "run")
    );
    if (!denied) throw new Error(`no env.get/run deny: ${JSON.stringify(run.audit)}`);
    assertEquals(
      run.audit.filter((e) => e.action === "run" && e.effect !== "deny"),
      [],
      "run allowed",
    );
    await ctx.assertHostAlive();
  });
});

Deno.test("escape 10: libc cannot be loaded (Deno.dlopen, process.dlopen)", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await escape(ctx, "dlopen.ts", {}, ["Deno.dlopen", "process.dlopen"], [
      "getpid=",
    ]);
    ctx.assertDenied(run, "ffi", (r) => r.endsWith("libc.so.6"));
    await ctx.assertHostAlive();
  });
});

Deno.test("escape 11: nothing is written outside the workspace", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const target = join(ctx.outsideDir, `pwned-${crypto.randomUUID()}`);
    const run = await escape(ctx, "write_outside.ts", { target }, [
      "writeTextFile",
      "writeTextFileSync",
      "open(create)",
      "node writeFileSync",
      "mkdir",
    ]);
    assertEquals([...Deno.readDirSync(ctx.outsideDir)], [], "files created outside");
    ctx.assertDenied(run, "fs.write", target);
    await ctx.assertHostAlive();
  });
});

Deno.test("escape 12: /proc/*/environ cannot be read", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await escape(ctx, "proc_environ.ts", {}, [
      "/proc/self/environ",
      "/proc/<pid>/environ",
      "/proc/<ppid>/environ",
      "node /proc/self/environ",
    ], ["DENO_PERMISSION_BROKER_PATH=", "DENO_DIR=", "PATH="]);
    ctx.assertDenied(run, "fs.read", (r) => /^\/proc\/\d+\/environ$/.test(r));
    ctx.assertDenied(run, "fs.read", `/proc/${Deno.pid}/environ`);
    await ctx.assertHostAlive();
  });
});

Deno.test(
  "escape 12b: /proc/self is decided and audited as the agent's, not the host's",
  opts,
  async () => {
    await withEscapeHost(async (ctx) => {
      // The host runs from the workspace (as with `--workspace .`); the agent works in a
      // subdirectory that holds a symlink to the secret's directory.
      await Deno.mkdir(join(ctx.workspace, "sub"));
      await Deno.symlink(ctx.secretDir, join(ctx.workspace, "sub", "link"));
      const cwd = Deno.cwd();
      Deno.chdir(ctx.workspace);
      let run: Run;
      try {
        run = await escape(ctx, "proc_self_view.ts", {}, [
          "/proc/self/cwd/link",
          "/proc/thread-self/cwd/link",
          "/proc/self/environ",
        ]);
      } finally {
        Deno.chdir(cwd);
      }
      const agentPid = /^agent pid (\d+)$/m.exec(run.stdout)?.[1];
      const problems: string[] = [];
      // In the agent's view /proc/self/cwd/link/secret.json is the secret: it must not be allowed
      // (the host resolving /proc/self in its own process sees <workspace>/link/secret.json).
      for (const e of run.audit) {
        if (
          e.path === "broker" && e.action === "fs.read" && e.effect === "allow" &&
          e.resource.endsWith("/link/secret.json")
        ) {
          problems.push(
            `allowed ${e.action} ${e.resource} (the agent read its own /proc/self/cwd)`,
          );
        }
        if (
          e.action === "fs.read" && /^\/proc\/\d+\/environ$/.test(e.resource) &&
          e.resource !== `/proc/${agentPid}/environ`
        ) {
          problems.push(
            `/proc/self/environ audited as ${e.resource} (agent pid ${agentPid}, host pid ${Deno.pid})`,
          );
        }
      }
      if (problems.length > 0) {
        throw new Error(`WRONG VIEW OF /proc/self:\n  ${problems.join("\n  ")}\n${describe(run)}`);
      }
      await ctx.assertHostAlive();
    });
  },
);

Deno.test("escape 13: Deno.permissions.request grants nothing", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await escape(ctx, "permission_request.ts", { secret: ctx.secretPath }, [
      "request read",
      "requestSync read secret",
      "request run",
      "read secret",
    ]);
    ctx.assertDenied(run, "fs.read", ctx.secretPath);
    await ctx.assertHostAlive();
  });
});

Deno.test("escape 14: the agent cannot kill its parent (the host)", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await escape(ctx, "kill_parent.ts", {}, [
      "Deno.kill(ppid)",
      "process.kill(ppid)",
      "Deno.kill(-ppid)",
    ]);
    ctx.assertDenied(run, "run", "*");
    // Still here: the test process (the host) is alive, and it still runs agents.
    await ctx.assertHostAlive();
  });
});

Deno.test(
  "escape 15: `..` traversal and workspace symlinks resolve to the real path",
  opts,
  async () => {
    await withEscapeHost(async (ctx) => {
      await Deno.symlink(ctx.secretPath, join(ctx.workspace, "link.json"));
      await Deno.symlink(ctx.secretDir, join(ctx.workspace, "dirlink"));
      const run = await escape(ctx, "traversal.ts", {
        relative: relative(ctx.workspace, ctx.secretPath),
        link: "link.json",
        dirLink: "dirlink",
      }, [
        "relative ..",
        "workspace/../..",
        "symlink to secret",
        "symlink to secret dir",
        "dir symlink/..",
      ]);
      ctx.assertDenied(run, "fs.read", ctx.secretPath);
      // The symlinks were resolved before deciding: no allow names the links' real targets.
      const allowedOutside = run.audit.filter((e) =>
        e.path === "broker" && e.effect === "allow" && e.resource.startsWith(ctx.secretDir)
      );
      assertEquals(allowedOutside, [], "reads allowed outside the workspace");
      const linkDenies = run.audit.filter((e) =>
        e.action === "fs.read" && e.effect === "deny" && e.resource === ctx.secretPath
      );
      if (linkDenies.length < 4) {
        throw new Error(`expected 4 denies of the real secret path: ${JSON.stringify(run.audit)}`);
      }
      await ctx.assertHostAlive();
    });
  },
);

Deno.test("escape 16: a busy loop is killed at its wall-clock timeout", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await bomb(ctx, "busy_loop.ts", { timeoutMs: 1500 });
    assertKilled(run, "timeout");
    await ctx.assertHostAlive();
  });
});

Deno.test("escape 17: a microtask loop is killed by the CPU budget", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await bomb(ctx, "microtask_loop.ts", { cpuMs: 1000, timeoutMs: 30_000 });
    assertKilled(run, "cpu budget");
    await ctx.assertHostAlive();
  });
});

Deno.test("escape 18: a heap bomb dies at the V8 heap cap", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await bomb(ctx, "heap_bomb.ts", { heapMb: 64, timeoutMs: 30_000 });
    if (run.exit.code === 0) throw new Error(`the heap bomb exited 0`);
    if (run.exit.killed !== null && run.exit.killed.includes("timeout")) {
      throw new Error(`the heap bomb ran until the safety timeout: ${JSON.stringify(run.exit)}`);
    }
    const exit = run.audit.find((e) => e.action === "agent.exit")!;
    if (run.exit.killed === null && !/V8 heap limit|code 13[34]|SIG/.test(exit.reason)) {
      throw new Error(`unexpected exit: ${JSON.stringify(run.exit)} ${exit.reason}`);
    }
    await ctx.assertHostAlive();
  });
});

Deno.test("escape 19: an ArrayBuffer bomb is killed by the memory budget", opts, async () => {
  await withEscapeHost(async (ctx) => {
    const run = await bomb(ctx, "buffer_bomb.ts", {
      memoryBytes: 300 * 1024 * 1024,
      timeoutMs: 30_000,
    });
    assertKilled(run, "memory budget");
    await ctx.assertHostAlive();
  });
});

Deno.test(
  "escape 20: no second connection to the agent's own SDK or broker socket",
  opts,
  async () => {
    await withEscapeHost(async (ctx) => {
      const guess = join(ctx.host.stateDir, "a1", "s.sock");
      const run = await escape(ctx, "own_socket.ts", { sdk: guess }, [
        "connect sdk",
        "connect broker",
        "broker: forge an allow",
      ]);
      const sockets = /^sockets (\S+) (\S+)$/m.exec(run.stdout);
      if (!sockets) throw new Error(`the agent did not report its sockets:\n${run.stdout}`);
      const [, sdk, broker] = sockets;
      // The path handed over is the real one (the bootstrap connected to it), and the agent's
      // own arguments do not reveal it.
      assertEquals(
        run.audit.some((e) => e.action === "bootstrap.read" && e.resource === sdk),
        true,
        "the test must hand over the real socket path",
      );
      assertEquals(/^args \[\]$/m.test(run.stdout), true, "Deno.args is the agent's own");
      for (const sock of [sdk, broker]) {
        ctx.assertDenied(run, "fs.read", sock);
      }
      // Nothing about sockets was allowed after bootstrap.
      assertEquals(
        run.audit.filter((e) =>
          e.path === "broker" && !e.action.startsWith("bootstrap.") && e.effect === "allow" &&
          e.resource.includes(".sock")
        ),
        [],
        "socket access allowed",
      );
      await ctx.assertHostAlive();
    });
  },
);

Deno.test(
  "escape 21: no check-then-use race through a workspace symlink (rename swap)",
  opts,
  async () => {
    await withEscapeHost(async (ctx) => {
      // A symlink to a directory outside the workspace, as a checked-out repository may hold.
      // Reading or writing through it directly is denied (case 15); here the agent has the
      // broker check a decoy path and swaps the symlink's parent into place before the open.
      await Deno.mkdir(join(ctx.workspace, "B"));
      await Deno.symlink(ctx.secretDir, join(ctx.workspace, "B", "d"));
      ctx.params({ rounds: 2000 });
      const run = await ctx.run({ module: escapeAgent("rename_race.ts"), timeoutMs: 60_000 });
      const problems: string[] = [];
      if (run.stdout.includes(ctx.marker) || run.stderr.includes(ctx.marker)) {
        problems.push("the secret's content reached the agent's output (read race won)");
      }
      for (const a of run.attempts.filter((a) => a.ok)) {
        problems.push(`attempt "${a.step}" succeeded: ${a.value}`);
      }
      const planted = [...Deno.readDirSync(ctx.secretDir)].map((e) => e.name)
        .filter((n) => n !== "secret.json");
      if (planted.length > 0) {
        problems.push(`files written into the secret's directory: ${planted.join(", ")}`);
      }
      const outside = run.audit.filter((e) =>
        e.path === "broker" && e.effect === "allow" && e.resource.startsWith(ctx.secretDir)
      );
      if (outside.length > 0) problems.push(`${outside.length} allows outside the workspace`);
      assertEquals(run.attempts.map((a) => a.step), ["race read", "race write"], describe(run));
      if (problems.length > 0) {
        throw new Error(`ESCAPE:\n  ${problems.join("\n  ")}\n${describe(run)}`);
      }
      assertEquals(run.exit, { code: 0, signal: null, killed: null }, describe(run));
      await ctx.assertHostAlive();
    });
  },
);

Deno.test("escape: after all of the above a fresh host still runs agents", opts, async () => {
  const host = newHost();
  try {
    const h = await host.start({ module: escapeAgent("trivial.ts"), timeoutMs: 30_000 });
    const [out, , exit] = await Promise.all([
      new Response(h.process.stdout).text(),
      new Response(h.process.stderr).text(),
      h.exited,
    ]);
    assertEquals(exit, { code: 0, signal: null, killed: null });
    if (!out.includes("trivial agent alive")) throw new Error(`no output: ${out}`);
  } finally {
    await host.close();
  }
});
