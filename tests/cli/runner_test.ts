/** The CLI runner in-process: help, usage errors, file errors, unexpected errors, `--`. */
import { z } from "zod";
import { assert, assertEquals } from "../policy/asserts.ts";
import {
  CliError,
  type CliSpec,
  command,
  FileError,
  parseJson,
  runCliCode,
} from "../../runtime/cli/runner.ts";

/** Run `spec` on `argv`, capturing what it prints. */
async function capture(spec: CliSpec, argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await runCliCode(spec, argv);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

let ran: string[] = [];
const spec: CliSpec = {
  name: "demo-cli",
  subcommands: {
    go: command({
      args: "<file>",
      options: { level: { type: "string" } },
      positionals: [1, 1],
      rest: true,
      main: ({ positionals, rest }) => {
        ran = [...positionals, "|", ...rest];
        return 0;
      },
    }),
    boom: command({
      main: () => {
        throw new TypeError("x is not a function");
      },
    }),
    file: command({ main: () => parseJson('{"a": 1,\n "b" }', "conf.json") as number }),
    shape: command({
      main: () => parseJson('{"a": "1"}', "conf.json", z.object({ a: z.number() })) as never,
    }),
    refuse: command({
      main: () => {
        throw new CliError("refused: because");
      },
    }),
  },
};

Deno.test("runner: --help and -h anywhere before -- are usage on stdout, exit 0, nothing runs", async () => {
  ran = [];
  for (
    const argv of [["--help"], ["-h"], ["go", "--help"], ["go", "f", "-h"], ["go", "--bad", "-h"]]
  ) {
    const r = await capture(spec, argv);
    assertEquals([r.code, r.stderr], [0, ""], argv.join(" "));
    assert(r.stdout.startsWith("usage: deno task demo-cli"), r.stdout);
  }
  assertEquals(ran, []);
  // After `--` it is an argument for the command.
  const r = await capture(spec, ["go", "f", "--", "--help"]);
  assertEquals([r.code, ran], [0, ["f", "|", "--help"]]);
});

Deno.test("runner: unknown flags, sub-commands, bad arity are one line + usage, exit 2", async () => {
  const cases: [string[], string][] = [
    [["go", "f", "--nope"], "unknown flag --nope"],
    [["nope"], 'unknown command "nope" (commands: go, boom, file, shape, refuse)'],
    [[], "no command given"],
    [["go"], "missing argument: <file>"],
    [["go", "a", "b"], 'unexpected argument "b"'],
    [["boom", "--", "x"], "unexpected arguments after --"],
    [["go", "f", "--level"], "Option '--level <value>' argument missing"],
  ];
  for (const [argv, first] of cases) {
    const r = await capture(spec, argv);
    assertEquals(r.code, 2, argv.join(" "));
    const lines = r.stderr.split("\n");
    assertEquals(lines[0], first);
    assert(lines[1].startsWith("usage: deno task demo-cli"), r.stderr);
    assertEquals(r.stdout, "");
  }
});

Deno.test("runner: files and refusals are one line, exit 1; JSON problems carry line:col and field", async () => {
  const f = await capture(spec, ["file"]);
  assertEquals(f.code, 1);
  assert(/^conf\.json:2:\d+: not valid JSON: /.test(f.stderr), f.stderr);
  const s = await capture(spec, ["shape"]);
  assertEquals([s.code, s.stderr.startsWith("conf.json: a: ")], [1, true], s.stderr);
  const r = await capture(spec, ["refuse"]);
  assertEquals([r.code, r.stderr], [1, "refused: because"]);
  assertEquals(
    new FileError("t.json", "no such file", undefined, "--trust").message,
    "--trust t.json: no such file",
  );
});

Deno.test("runner: an unexpected error is `warden <command>: <message>`, no stack unless WARDEN_DEBUG=1", async () => {
  const before = Deno.env.get("WARDEN_DEBUG");
  try {
    Deno.env.delete("WARDEN_DEBUG");
    const r = await capture(spec, ["boom"]);
    assertEquals([r.code, r.stderr], [1, "warden demo-cli boom: x is not a function"]);
    Deno.env.set("WARDEN_DEBUG", "1");
    const d = await capture(spec, ["boom"]);
    assertEquals(d.code, 1);
    assert(/\n\s+at /.test(d.stderr), d.stderr);
  } finally {
    if (before === undefined) Deno.env.delete("WARDEN_DEBUG");
    else Deno.env.set("WARDEN_DEBUG", before);
  }
});
