/**
 * The one runner behind every `deno task` entry point. A CLI declares a {@link CliSpec}
 * (its name, usage, flags and sub-commands); {@link runCli} parses `Deno.args` with
 * node:util's parseArgs and maps every outcome to one exit code:
 *
 * - `--help`/`-h` anywhere before `--`: usage on stdout, exit 0, nothing else runs;
 * - an unknown flag, a bad value, a wrong number of arguments, an unknown sub-command: one
 *   line naming it plus the usage on stderr, exit 2 ({@link UsageError});
 * - a missing or malformed file: one line `path[:line:col]: problem`, exit 1
 *   ({@link FileError}, a policy's {@link PolicyError});
 * - a refusal or a failure the CLI names ({@link CliError}): that line, exit 1;
 * - anything else: `warden <command>: <message>`, exit 1, the stack only under
 *   `WARDEN_DEBUG=1`.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { z } from "zod";
import { formatProblem, PolicyError } from "../../governance/mod.ts";

/** The flags a command accepts, as node:util parseArgs declares them. */
export type Options = NonNullable<ParseArgsConfig["options"]>;
type Values<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true }>
>["values"];

/** What a command's `main` receives. */
export interface Ctx<O extends Options = Options> {
  values: Values<O>;
  positionals: string[];
  /** The arguments after `--` (only for a command declaring `rest`). */
  rest: string[];
  /** This command's usage text. */
  usage: string;
}

/**
 * How the all-commands test makes a command read a file first: `args(path)` are the
 * arguments; with `inDir`, `path` is a directory and the file read is `<path>/<inDir>`;
 * `ext` its extension when the command goes by it (a policy's `.yaml`);
 * `missing: false` when an absent file is not an error (a store it creates), `malformed:
 * false` when no content can be malformed for it (an agent module).
 */
export interface FileCase {
  args: (path: string) => string[];
  inDir?: string;
  missing?: false;
  malformed?: false;
  /** The file's extension, when the command goes by it (default `.json`). */
  ext?: string;
}

/** One command (a CLI without sub-commands, or one sub-command). */
export interface Command<O extends Options = Options> {
  /** The words after the command in the usage line, e.g. `<file|dir>... [--json]`. */
  args?: string;
  /** Lines printed under the usage line(s) in this command's `--help`. */
  help?: string;
  options?: O;
  /** Allowed number of positionals, [min, max] (default [0, 0]). */
  positionals?: [number, number];
  /** Accepts arguments after `--` (passed as `ctx.rest`). */
  rest?: boolean;
  /** Ways to make this command read a file (for the all-commands test). */
  files?: FileCase[];
  /** Runs the command; returns the exit code. */
  main(ctx: Ctx<O>): number | Promise<number>;
}

/** A CLI: `deno task <name>` with one command or with sub-commands. */
export interface CliSpec {
  name: string;
  command?: Command;
  subcommands?: Record<string, Command>;
  /** Lines after the usage lines in every `--help` (shared flags, notes). */
  notes?: string;
}

/** Declare a command with its flags' types inferred. */
export function command<O extends Options>(c: Command<O>): Command {
  return c as unknown as Command;
}

/** A usage mistake: exit 2 with the usage. */
export class UsageError extends Error {}
/** A refusal or failure named in one line: exit 1. */
export class CliError extends Error {}
/** A file that is missing or malformed: `path[:line:col]: message`, exit 1. */
export class FileError extends CliError {
  constructor(
    readonly path: string,
    problem: string,
    where?: { line: number; column: number },
    flag?: string,
  ) {
    super(
      `${flag ? `${flag} ` : ""}${path}${
        where ? `:${where.line}:${where.column}` : ""
      }: ${problem}`,
    );
  }
}

const pad = "       ";

function line(spec: CliSpec, sub: string | undefined, c: Command): string {
  return `deno task ${spec.name}${sub ? ` ${sub}` : ""}${c.args ? ` ${c.args}` : ""}`;
}

/** The usage text of a CLI, or of one of its sub-commands. */
export function usageOf(spec: CliSpec, sub?: string): string {
  const notes = spec.notes ? `\n${spec.notes}` : "";
  if (spec.command) {
    const c = spec.command;
    return `usage: ${line(spec, undefined, c)}${c.help ? `\n${c.help}` : ""}${notes}`;
  }
  const subs = spec.subcommands ?? {};
  if (sub !== undefined && subs[sub]) {
    const c = subs[sub];
    return `usage: ${line(spec, sub, c)}${c.help ? `\n${c.help}` : ""}${notes}`;
  }
  const lines = Object.entries(subs).map(([n, c]) => line(spec, n, c));
  return `usage: ${lines.join(`\n${pad}`)}${notes}`;
}

/**
 * An integer flag's value (undefined when absent); anything else is a usage error naming
 * `--name` (or `name` itself when it is an argument such as `<index>`).
 */
export function intFlag(
  name: string,
  v: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isInteger(n) || n < min || n > max) {
    const label = name.startsWith("<") ? name : `--${name}`;
    throw new UsageError(`${label}: expected an integer ${min}-${max}, got "${v}"`);
  }
  return n;
}

/** A file's text; a missing, unreadable or non-regular file is a {@link FileError}. */
export function readText(path: string, flag?: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throw new FileError(path, fsProblem(e), undefined, flag);
  }
}

/** One short phrase for a file-system error. */
export function fsProblem(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory, not a file";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.NotADirectory) return "a parent of it is not a directory";
  if (e instanceof Deno.errors.NotCapable) return "not readable by this command";
  return (e as Error)?.message ?? String(e);
}

/** `line:col` of a character offset in `text`. */
function lineCol(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

/**
 * A JSON file's content, checked against `schema` when given: a missing file, a syntax
 * error (with line:col) or the first schema problem (naming the field) is a {@link FileError}.
 */
export function readJson<T = unknown>(path: string, schema?: z.ZodType<T>, flag?: string): T {
  const text = readText(path, flag);
  return parseJson(text, path, schema, flag);
}

/** {@link readJson} for text already read from `path`. */
export function parseJson<T = unknown>(
  text: string,
  path: string,
  schema?: z.ZodType<T>,
  flag?: string,
): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const p = jsonProblem(text, e);
    throw new FileError(path, `not valid JSON: ${p.problem}`, p.where, flag);
  }
  if (!schema) return json as T;
  const r = schema.safeParse(json);
  if (!r.success) throw new FileError(path, zodProblem(r.error), undefined, flag);
  return r.data;
}

/** What JSON.parse's error `e` says about `text`, and where (line:col) when it says. */
export function jsonProblem(
  text: string,
  e: unknown,
): { problem: string; where?: { line: number; column: number } } {
  const msg = (e as Error).message;
  const at = /position (\d+)/.exec(msg);
  const where = at
    ? lineCol(text, Number(at[1]))
    : /end of JSON/.test(msg) && text.trim() !== ""
    ? lineCol(text, text.trimEnd().length)
    : undefined;
  // One line: V8 quotes a snippet of the text, which may hold line breaks.
  const why = msg.replace(/ in JSON at position \d+.*$/s, "").replace(/\s*\n\s*/g, " ");
  return { problem: text.trim() === "" ? "empty" : why, where };
}

/** The first problem of a zod error in one line, naming the field. */
export function zodProblem(e: z.ZodError): string {
  const first = e.issues[0];
  const field = first.path.length ? first.path.join(".") : "(top level)";
  const more = e.issues.length > 1 ? ` (and ${e.issues.length - 1} more)` : "";
  return `${field}: ${first.message}${more}`;
}

function debug(): boolean {
  // Asked first: a task that grants no access to it must not prompt, nor throw.
  const q = Deno.permissions.querySync({ name: "env", variable: "WARDEN_DEBUG" });
  return q.state === "granted" && Deno.env.get("WARDEN_DEBUG") === "1";
}

function wantsHelp(args: string[]): boolean {
  for (const a of args) {
    if (a === "--") return false;
    if (a === "--help" || a === "-h") return true;
  }
  return false;
}

function parseFlags(c: Command, args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { ...c.options, help: { type: "boolean", short: "h" } },
    });
  } catch (e) {
    const msg = (e as Error).message;
    const code = (e as { code?: string }).code;
    const name = /'([^']+)'/.exec(msg)?.[1];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && name) {
      throw new UsageError(`unknown flag ${name}`);
    }
    throw new UsageError(msg.split("\n")[0]);
  }
}

async function dispatch(spec: CliSpec, argv: string[], at: { sub?: string }): Promise<number> {
  const dash = argv.indexOf("--");
  const before = dash < 0 ? argv : argv.slice(0, dash);
  const rest = dash < 0 ? [] : argv.slice(dash + 1);
  let c = spec.command;
  let args = before;
  if (!c) {
    const subs = spec.subcommands ?? {};
    const first = before[0];
    if (first === undefined || first.startsWith("-")) {
      if (wantsHelp(before)) {
        console.log(usageOf(spec));
        return 0;
      }
      throw new UsageError(first === undefined ? "no command given" : `unknown flag ${first}`);
    }
    if (!Object.hasOwn(subs, first)) {
      throw new UsageError(
        `unknown command "${first}" (commands: ${Object.keys(subs).join(", ")})`,
      );
    }
    at.sub = first;
    c = subs[first];
    args = before.slice(1);
  }
  if (wantsHelp(args)) {
    console.log(usageOf(spec, at.sub));
    return 0;
  }
  const parsed = parseFlags(c, args);
  const [min, max] = c.positionals ?? [0, 0];
  const pos = parsed.positionals;
  if (pos.length > max) throw new UsageError(`unexpected argument "${pos[max]}"`);
  if (pos.length < min) {
    const names = c.args?.match(/<[^>]+>(\.\.\.)?/g)?.join(" ") ?? "";
    throw new UsageError(`missing argument: ${names}`.trim());
  }
  if (rest.length > 0 && !c.rest) throw new UsageError(`unexpected arguments after --`);
  return await c.main({
    values: parsed.values,
    positionals: pos,
    rest,
    usage: usageOf(spec, at.sub),
  });
}

/** Run a CLI on `argv` and return its exit code (all output already written). */
export async function runCliCode(spec: CliSpec, argv: string[]): Promise<number> {
  const at: { sub?: string } = {};
  try {
    return await dispatch(spec, argv, at);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${e.message}\n${usageOf(spec, at.sub)}`);
      return 2;
    }
    if (e instanceof CliError) {
      console.error(e.message);
      return 1;
    }
    if (e instanceof PolicyError) {
      console.error(e.problems.map(formatProblem).join("\n"));
      return 1;
    }
    const who = `warden ${spec.name}${at.sub ? ` ${at.sub}` : ""}`;
    const msg = e instanceof z.ZodError
      ? zodProblem(e)
      : e instanceof Error
      ? e.message.split("\n")[0]
      : String(e);
    console.error(`${who}: ${msg}`);
    if (debug() && e instanceof Error && e.stack) console.error(e.stack);
    return 1;
  }
}

/** Run a CLI on `Deno.args` and exit with its code. */
export async function runCli(spec: CliSpec): Promise<never> {
  Deno.exit(await runCliCode(spec, Deno.args));
}

/**
 * For a module whose top level is the work itself (a demo, the benchmarks): parse `Deno.args`
 * per `spec`; `--help` and usage mistakes (also those `check` throws) exit here, before any
 * work, else the parsed flags come back. The spec's own `main` is not called.
 */
export async function argsOrExit(
  spec: CliSpec,
  check?: (ctx: Ctx) => void,
): Promise<Ctx & { sub?: string }> {
  let got: (Ctx & { sub?: string }) | undefined;
  const capture = (c: Command, sub?: string): Command => ({
    ...c,
    main: (ctx) => {
      check?.(ctx);
      got = { ...ctx, sub };
      return 0;
    },
  });
  const probe: CliSpec = {
    ...spec,
    command: spec.command && capture(spec.command),
    subcommands: spec.subcommands &&
      Object.fromEntries(Object.entries(spec.subcommands).map(([n, c]) => [n, capture(c, n)])),
  };
  const code = await runCliCode(probe, Deno.args);
  if (!got) Deno.exit(code);
  return got;
}
