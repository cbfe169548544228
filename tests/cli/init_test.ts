/**
 * `deno task init`: a new agent outside the repository that type-checks against the SDK with
 * the import README shows, runs under `deno task run` with the policy it was given (read a
 * workspace file, fetch from a loopback server, emit), and is denied, with a reason, one
 * action more. Init never writes into a non-empty directory and refuses mistakes in one line.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { runDeno } from "./run.ts";

const init = (...args: string[]) => runDeno(["task", "-q", "init", ...args]);
const noStack = (s: string) => assert(!/^\s+at .*:\d+:\d+/m.test(s), `a stack trace:\n${s}`);

/** A loopback API counting what reaches it. */
function loopback() {
  const seen: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => {
      seen.push(new URL(req.url).pathname);
      return Response.json({ message: "hello from the test's loopback API" });
    },
  );
  return { port: server.addr.port, seen, close: () => server.shutdown() };
}

Deno.test("init writes an agent outside the repo that type-checks, runs with its policy, and is denied one action more", async () => {
  const api = loopback();
  const tmp = await Deno.makeTempDir({ prefix: "warden-init-" });
  const dir = join(tmp, "nested", "hello-agent");
  try {
    const r = await init(dir, "--port", String(api.port));
    assertEquals(r.code, 0, r.stderr);
    for (const f of ["agent.ts", "api.ts", "policy.yaml", "deno.json", "README.md"]) {
      assert(Deno.statSync(join(dir, f)).isFile, f);
    }
    assert(Deno.statSync(join(dir, "workspace/notes.txt")).isFile, "workspace/notes.txt");
    assert(
      r.stdout.includes(`deno task run ${dir}/agent.ts --policy ${dir}/policy.yaml`),
      r.stdout,
    );
    const agent = Deno.readTextFileSync(join(dir, "agent.ts"));
    assert(agent.includes(`from "@warden/sdk"`), "the agent imports @warden/sdk");
    const config = JSON.parse(Deno.readTextFileSync(join(dir, "deno.json")));
    assertEquals(
      config.imports["@warden/sdk"],
      new URL("../../sdk/mod.ts", import.meta.url).href,
    );
    assert(
      Deno.readTextFileSync(join(dir, "policy.yaml")).includes("name: hello-agent"),
      "policy named after the directory",
    );

    // deno check in the agent's own directory (its deno.json), as README shows; the SDK's
    // types need no npm package, so the agent gets no lockfile entry for one.
    const check = await new Deno.Command(Deno.execPath(), {
      args: ["check", "agent.ts", "api.ts"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const checkErr = new TextDecoder().decode(check.stderr);
    assertEquals(check.code, 0, checkErr);
    let lock = "";
    try {
      lock = Deno.readTextFileSync(join(dir, "deno.lock"));
    } catch { /* no lockfile: nothing to pin */ }
    assert(!lock.includes("npm:"), `the SDK pulled an npm package into the agent:\n${lock}`);

    const policyCheck = await runDeno(["task", "-q", "policy", "check", join(dir, "policy.yaml")]);
    assertEquals(policyCheck.code, 0, policyCheck.stderr + policyCheck.stdout);

    const base = [
      "task",
      "-q",
      "run",
      join(dir, "agent.ts"),
      "--policy",
      join(dir, "policy.yaml"),
      "--workspace",
      join(dir, "workspace"),
      "--audit",
      join(dir, "audit.jsonl"),
    ];
    const ok = await runDeno(base);
    assertEquals(ok.code, 0, ok.stderr);
    assert(ok.stderr.includes("warden: log [info] read "), ok.stderr);
    const output = ok.stderr.split("\n").find((l) => l.startsWith("warden: output "));
    assert(output, `no output emitted:\n${ok.stderr}`);
    const emitted = JSON.parse(output.slice("warden: output ".length));
    assertEquals(emitted.status, 200);
    assertEquals(emitted.notes, 2);
    assert(emitted.body.includes("hello from the test's loopback API"), output);
    assert(!ok.stderr.includes("DENY"), `nothing is denied:\n${ok.stderr}`);
    assertEquals(api.seen, ["/api/hello"]);

    // One action more: another path of the same API. Denied with a reason, never performed.
    const time = `http://127.0.0.1:${api.port}/api/time`;
    const denied = await runDeno([...base, "--", time]);
    assertEquals(denied.code, 1, denied.stderr);
    const deny = denied.stderr.split("\n").find((l) => l.startsWith("warden: DENY "));
    assert(deny?.startsWith(`warden: DENY  agent net.fetch ${time} — `), denied.stderr);
    assert(deny!.split(" — ")[1].length > 0, "the denial has a reason");
    assert(denied.stderr.includes("refused (denied, rule "), denied.stderr);
    noStack(denied.stderr);
    assertEquals(api.seen, ["/api/hello"], "the denied fetch never reached the server");

    const audit = Deno.readTextFileSync(join(dir, "audit.jsonl")).trim().split("\n")
      .map((l) => JSON.parse(l));
    const fetches = audit.filter((e) => e.action === "net.fetch");
    assertEquals(fetches.map((e) => e.effect), ["allow", "deny"]);
    const verify = await runDeno(["task", "-q", "audit", "verify", join(dir, "audit.jsonl")]);
    assertEquals(verify.code, 0, verify.stderr);
  } finally {
    await api.close();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("init refuses a non-empty directory, a file, and bad flags, in one line; never overwrites", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "warden-init-" });
  try {
    const full = join(tmp, "full");
    Deno.mkdirSync(full);
    Deno.writeTextFileSync(join(full, "agent.ts"), "// mine\n");
    const a = await init(full);
    assertEquals(a.code, 1, a.stderr);
    assertEquals(
      a.stderr.trim(),
      `${full}: not empty (init writes only into a new or empty directory)`,
    );
    assertEquals(Deno.readTextFileSync(join(full, "agent.ts")), "// mine\n");

    // A symlink to a non-empty directory is that directory.
    Deno.symlinkSync(full, join(tmp, "link"));
    const l = await init(join(tmp, "link"));
    assertEquals(l.code, 1, l.stderr);
    assertEquals(Deno.readTextFileSync(join(full, "agent.ts")), "// mine\n");

    const file = join(tmp, "file");
    Deno.writeTextFileSync(file, "x");
    const f = await init(file);
    assertEquals(f.code, 1, f.stderr);
    assertEquals(f.stderr.trim(), `${file}: exists and is not a directory`);

    const under = await init(join(file, "sub"));
    assertEquals(under.code, 1, under.stderr);
    assert(under.stderr.trim().split("\n").length === 1, under.stderr);
    noStack(under.stderr);

    const comma = await init(join(tmp, "a,b"));
    assertEquals(comma.code, 1, comma.stderr);
    assertEquals(
      comma.stderr.trim(),
      `${join(tmp, "a,b")}: a comma in the path (agents cannot run from it)`,
    );

    const empty = join(tmp, "empty");
    Deno.mkdirSync(empty);
    assertEquals((await init(empty)).code, 0, "an empty directory is fine");

    for (
      const [args, first] of [
        [["--bogus"], "unknown flag --bogus"],
        [["a", "b"], 'unexpected argument "b"'],
        [["--port", "abc"], '--port: expected an integer 1-65535, got "abc"'],
        [["--port", "70000"], '--port: expected an integer 1-65535, got "70000"'],
        [[join(tmp, "x"), "--", "y"], "unexpected arguments after --"],
      ] as [string[], string][]
    ) {
      const r = await init(...args);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assertEquals(r.stderr.split("\n")[0], first);
      assert(r.stderr.includes("usage: deno task init [DIR]"), r.stderr);
    }
    const help = await init("--help");
    assertEquals(help.code, 0);
    assert(help.stdout.startsWith("usage: deno task init [DIR] [--port N]"), help.stdout);
    assertEquals((await init("-h")).stdout, help.stdout);
    assertEquals([...Deno.readDirSync(tmp)].map((e) => e.name).sort(), [
      "empty",
      "file",
      "full",
      "link",
    ]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
