/**
 * `--server "<command>"`: the command line an MCP client would run, turned into what the
 * gateway runs in a worker process. Accepted: a TypeScript/JavaScript module with arguments,
 * `deno run [flags] <module> …`, `node [options] <file.js> …` (Node's options dropped, their
 * values too; `-e`/`-p` refused), `tsx`/`ts-node <file.ts> …` (also through `npx`: Deno runs
 * TypeScript itself), `npm:<package> …` and `npx [-y] <package> …`. Deno flags are dropped (the ring decides permissions, not the
 * command); anything else (python, a binary) is refused, because it would run outside the
 * permission broker. No shell is involved: quoting is parsed here.
 */

/** What to run, as the gateway runs it. */
export interface ServerCommand {
  /** Module path or `npm:` specifier. */
  module: string;
  args: string[];
  /** Flags of the original command that the gateway ignores (shown to the operator). */
  dropped: string[];
}

/** Split a command line into words: '…' literal, "…" with \\ escapes, backslash outside. */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  let q: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q === "'") {
      if (ch === "'") q = null;
      else cur += ch;
    } else if (q === '"') {
      if (ch === '"') q = null;
      else if (ch === "\\" && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) {
        cur += line[++i];
      } else cur += ch;
    } else if (ch === "'" || ch === '"') {
      q = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (q) throw new Error(`unterminated ${q} quote`);
  if (inWord) out.push(cur);
  return out;
}

const MODULE = /\.(ts|mts|tsx|js|mjs|cjs|jsx)$/;
/** Deno flags that take a separate value when written without `=`. */
const DENO_VALUE_FLAGS = new Set([
  "--config",
  "-c",
  "--import-map",
  "--lock",
  "--env-file",
  "--location",
  "--seed",
  "--v8-flags",
  "--cert",
  "--inspect",
]);

/**
 * Node options that take a separate value (`-r dotenv/config`): the value is dropped with the
 * option, never taken for the script.
 */
const NODE_VALUE_FLAGS = new Set([
  "-r",
  "--require",
  "--import",
  "--loader",
  "--experimental-loader",
  "-C",
  "--conditions",
  "--env-file",
  "--env-file-if-exists",
  "--title",
  "--inspect-port",
  "--input-type",
  "--stack-size",
  "--max-old-space-size",
  "--unhandled-rejections",
  "--dns-result-order",
  "--redirect-warnings",
  "--disable-warning",
]);
/** Node options whose value is the program itself: inline code is nobody's own code. */
const NODE_INLINE = new Set(["-e", "--eval", "-p", "--print"]);
/** TypeScript runners a Node server's README names (`npx tsx src/index.ts`): Deno runs TS itself. */
const TS_RUNNERS = new Set(["tsx", "ts-node", "ts-node-esm"]);

/** `node [options] <script> …`: the script and its arguments; Node's options are dropped. */
function nodeScript(prog: string, rest: string[], dropped: string[]): ServerCommand {
  let i = 0;
  while (i < rest.length && rest[i].startsWith("-") && rest[i] !== "--") {
    const f = rest[i++];
    const name = f.split("=")[0];
    if (NODE_INLINE.has(name)) {
      throw new Error(
        `${prog} ${name}: inline code cannot be governed (the gateway runs a script file, whose ` +
          `module graph is its own code)`,
      );
    }
    dropped.push(f);
    if (!f.includes("=") && NODE_VALUE_FLAGS.has(f) && i < rest.length) dropped.push(rest[i++]);
  }
  if (rest[i] === "--") i++;
  if (i >= rest.length) throw new Error(`${prog}: no script given`);
  return { module: rest[i], args: rest.slice(i + 1), dropped };
}

function program(word: string): string {
  return word.split("/").pop() ?? word;
}

/** Parse `--server`; throws an Error with a one-line message on what cannot be governed. */
export function parseServerCommand(line: string): ServerCommand {
  const words = splitWords(line);
  if (words.length === 0) throw new Error("the server command is empty");
  const [first, ...rest] = words;
  const prog = program(first);
  const dropped: string[] = [];
  if (prog === "deno") {
    if (rest[0] !== "run") {
      throw new Error(`only "deno run" commands can be governed (got "deno ${rest[0] ?? ""}")`);
    }
    let i = 1;
    while (i < rest.length && rest[i].startsWith("-")) {
      const f = rest[i++];
      dropped.push(f);
      if (!f.includes("=") && DENO_VALUE_FLAGS.has(f) && i < rest.length) dropped.push(rest[i++]);
    }
    if (i >= rest.length) throw new Error("deno run: no module given");
    return { module: rest[i], args: rest.slice(i + 1), dropped };
  }
  if (prog === "node" || prog === "nodejs" || TS_RUNNERS.has(prog)) {
    return nodeScript(prog, rest, dropped);
  }
  if (prog === "npx") {
    let i = 0;
    while (i < rest.length && rest[i].startsWith("-")) dropped.push(rest[i++]);
    if (i >= rest.length) throw new Error("npx: no package given");
    // `npx tsx src/index.ts`: the script, run by Deno (a runner package would spawn node).
    const runner = rest[i].replace(/@[^@/]*$/, "");
    if (TS_RUNNERS.has(runner)) {
      dropped.push(rest[i]);
      return nodeScript(runner, rest.slice(i + 1), dropped);
    }
    return { module: `npm:${rest[i]}`, args: rest.slice(i + 1), dropped };
  }
  if (first.startsWith("npm:") || MODULE.test(first)) return { module: first, args: rest, dropped };
  throw new Error(
    `cannot govern "${first}": the gateway runs MCP servers written for Deno or Node.js ` +
      `(a .ts/.js module, deno run, node, npm: or npx) in a sandboxed worker process; ` +
      `other programs would run outside the permission broker`,
  );
}
