/**
 * Every `deno task` command and sub-command (from deno.json and the CLI specs, so a new one is
 * covered by construction) gets `--help`, `-h`, a bad flag, and, where it reads a file, a
 * missing and a malformed one. Any stack frame, any hang, any wrong exit code fails.
 */
import { join } from "node:path";
import type { CliSpec, Command, FileCase } from "../../runtime/cli/runner.ts";
import { CLI_SPECS, DENO_TASKS, taskNames } from "./commands.ts";
import { wardenHome } from "./run.ts";

interface Case {
  label: string;
  task: string;
  args: string[];
  code: number;
  /** stdout starts with this (help). */
  stdout?: string;
  /** stderr contains each of these. */
  stderr?: string[];
}

/** Content no JSON, JSONL, YAML or Cedar reader accepts (two lines: a JSONL reader's first). */
const MALFORMED = '{"a": [1,\n  "b": }\n';
const DEADLINE_MS = 90_000;
const ROOT = new URL("../../", import.meta.url).pathname;

function fileCases(
  task: string,
  prefix: string[],
  files: FileCase[],
  dir: string,
  out: Case[],
): void {
  files.forEach((f, i) => {
    const tag = `${task}${prefix.length ? `-${prefix[0]}` : ""}-${i}`;
    const ext = f.ext ?? ".json";
    const mk = (kind: string, content: string | null) => {
      let arg: string, named: string;
      if (f.inDir) {
        arg = join(dir, `${tag}-${kind}`);
        Deno.mkdirSync(arg);
        named = join(arg, f.inDir);
        if (content !== null) Deno.writeTextFileSync(named, content);
      } else {
        arg = named = join(dir, `${tag}-${kind}${ext}`);
        if (content !== null) Deno.writeTextFileSync(named, content);
      }
      out.push({
        label: `${kind} file: ${[...prefix, ...f.args(arg)].join(" ")}`,
        task,
        args: [...prefix, ...f.args(arg)],
        code: 1,
        // A file read inside a directory argument: the directory and the file's name.
        stderr: f.inDir ? [arg, f.inDir] : [named],
      });
    };
    if (f.missing !== false) mk("missing", null);
    if (f.malformed !== false) mk("malformed", MALFORMED);
  });
}

function commandCases(
  spec: CliSpec,
  sub: string | undefined,
  c: Command,
  dir: string,
  out: Case[],
): void {
  const prefix = sub ? [sub] : [];
  const head = `usage: deno task ${spec.name}${sub ? ` ${sub}` : ""}`;
  for (const h of ["--help", "-h"]) {
    out.push({ label: h, task: spec.name, args: [...prefix, h], code: 0, stdout: head });
  }
  out.push({
    label: "bad flag",
    task: spec.name,
    args: [...prefix, "--no-such-flag"],
    code: 2,
    stderr: ["--no-such-flag", head],
  });
  fileCases(spec.name, prefix, c.files ?? [], dir, out);
}

/** Every case, derived from deno.json's tasks and the specs' sub-commands. */
function allCases(dir: string): Case[] {
  const out: Case[] = [];
  for (const task of taskNames()) {
    if (DENO_TASKS.has(task)) {
      out.push({ label: "--help", task, args: ["--help"], code: 0, stdout: "" });
      out.push({ label: "bad flag", task, args: ["--no-such-flag"], code: 1 });
      continue;
    }
    const spec = CLI_SPECS[task];
    if (!spec) throw new Error(`deno task ${task} has no CLI spec in tests/cli/commands.ts`);
    if (spec.command) {
      commandCases(spec, undefined, spec.command, dir, out);
      continue;
    }
    const head = `usage: deno task ${spec.name}`;
    for (const h of ["--help", "-h"]) {
      out.push({ label: h, task, args: [h], code: 0, stdout: head });
    }
    out.push({ label: "no command", task, args: [], code: 2, stderr: [head] });
    out.push({
      label: "unknown command",
      task,
      args: ["no-such-command"],
      code: 2,
      stderr: ["no-such-command", head],
    });
    for (const [name, c] of Object.entries(spec.subcommands ?? {})) {
      commandCases(spec, name, c, dir, out);
    }
  }
  return out;
}

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  hung: boolean;
}

async function runTask(task: string, args: string[], home: string): Promise<Outcome> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", task, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: {
      NO_COLOR: "1",
      WARDEN_HOME: home,
      // Nothing listens there: a command that reached for the network fails fast.
      WARDEN_API: "http://127.0.0.1:9",
    },
  }).spawn();
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, DEADLINE_MS);
  const r = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr), hung };
}

/** What is wrong with one case's outcome, or null. */
function problem(c: Case, r: Outcome): string | null {
  if (r.hung) return `hung (killed after ${DEADLINE_MS} ms)`;
  const all = r.stdout + r.stderr;
  if (/^ {4}at /m.test(all) || all.includes("error: Uncaught")) return "stack trace";
  if (r.code !== c.code) return `exit ${r.code}, expected ${c.code}`;
  if (c.stdout !== undefined && !r.stdout.startsWith(c.stdout)) {
    return `stdout does not start with "${c.stdout}"`;
  }
  for (const s of c.stderr ?? []) {
    if (!r.stderr.includes(s)) return `stderr does not name "${s}"`;
  }
  if (c.code === 0 && c.stdout && r.stderr.trim() !== "") return "help wrote to stderr";
  if (c.code !== 0 && c.stderr && r.stdout.trim() !== "") return "an error wrote to stdout";
  return null;
}

Deno.test("every deno task command and sub-command: help, bad flags, missing and malformed files", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "warden-all-commands-" });
  const home = join(wardenHome(), "all-commands");
  Deno.mkdirSync(home, { recursive: true });
  try {
    const cases = allCases(dir);
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++];
        const r = await runTask(c.task, c.args, home);
        const p = problem(c, r);
        if (p) {
          failures.push(
            `deno task ${c.task} ${c.args.join(" ")} (${c.label}): ${p}\n` +
              `  stdout: ${r.stdout.slice(0, 400)}\n  stderr: ${r.stderr.slice(0, 600)}`,
          );
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    console.log(`${cases.length} cases over ${taskNames().length} tasks`);
    if (failures.length) {
      throw new Error(
        `${failures.length} of ${cases.length} cases failed:\n${failures.join("\n")}`,
      );
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("the all-commands registry is exactly deno.json's tasks", () => {
  const tasks = new Set(taskNames());
  for (const name of Object.keys(CLI_SPECS)) {
    if (!tasks.has(name)) throw new Error(`CLI spec "${name}" is not a deno task`);
  }
  for (const t of tasks) {
    if (!CLI_SPECS[t] && !DENO_TASKS.has(t)) throw new Error(`deno task ${t} has no CLI spec`);
  }
});
