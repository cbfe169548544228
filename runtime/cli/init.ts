/**
 * `deno task init [DIR] [--port N]` — write a minimal governed agent into a new directory:
 * `agent.ts` (reads a workspace file, fetches from a loopback API, logs and emits), its
 * `policy.yaml` (allowing exactly that, with comments), `deno.json` (so `@warden/sdk`
 * type-checks: it maps the import to this checkout's `sdk/mod.ts`, the same file agent
 * processes get through their import map), `api.ts` (the loopback API), `workspace/notes.txt`
 * and a `README.md` with the commands. It never overwrites: DIR must not exist or be empty.
 */
import { basename, join, resolve } from "node:path";
import { CliError, type CliSpec, command, fsProblem, intFlag, runCli } from "./runner.ts";

const TEMPLATES = new URL("./templates/", import.meta.url);
const SDK = new URL("../../sdk/mod.ts", import.meta.url);
/** The port the templates name (their loopback API's). */
const TEMPLATE_PORT = "8787";

/** The files `init` writes, relative to DIR, from the templates (placeholders filled). */
export function initFiles(dir: string, port: number): Record<string, string> {
  const name = basename(dir).toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(
    /^[^a-z0-9]+/,
    "",
  ) || "agent";
  const fill = (file: string) =>
    Deno.readTextFileSync(new URL(file, TEMPLATES))
      .replaceAll(TEMPLATE_PORT, String(port))
      .replaceAll("__NAME__", name);
  return {
    "agent.ts": fill("agent.ts"),
    "api.ts": fill("api.ts"),
    "policy.yaml": fill("policy.yaml"),
    "deno.json": JSON.stringify({ imports: { "@warden/sdk": SDK.href } }, null, 2) + "\n",
    "workspace/notes.txt": fill("notes.txt"),
    "README.md": readme(dir, port),
  };
}

/** The commands to go on with (printed, and the agent's README). */
function nextSteps(dir: string, port: number): string {
  const q = (p: string) => (/^[\w./@:+-]+$/.test(p) ? p : `'${p.replaceAll("'", `'\\''`)}'`);
  const d = q(dir);
  return [
    `deno run --allow-net=127.0.0.1:${port} ${d}/api.ts &   # the loopback API it fetches from`,
    `deno task run ${d}/agent.ts --policy ${d}/policy.yaml --workspace ${d}/workspace --audit ${d}/audit.jsonl`,
    `deno task run ${d}/agent.ts --policy ${d}/policy.yaml --workspace ${d}/workspace --audit ${d}/audit.jsonl -- http://127.0.0.1:${port}/api/time   # denied: not in the policy`,
    `deno task audit verify ${d}/audit.jsonl`,
    `(cd ${d} && deno check agent.ts)   # type-check the agent against the SDK`,
  ].join("\n");
}

function readme(dir: string, port: number): string {
  return `# ${basename(dir)}: a governed agent

Written by \`deno task init\`. Run these from the Warden checkout (\`deno task\` needs its
\`deno.json\`):

\`\`\`sh
${nextSteps(dir, port)}
\`\`\`

- \`agent.ts\` imports \`@warden/sdk\`; \`deno.json\` maps it to the checkout's \`sdk/mod.ts\`, the
  file the host gives the agent process, so \`deno check\` sees the same SDK that runs.
- \`policy.yaml\` allows exactly what the agent does: read \`notes.txt\` in its workspace, GET
  \`http://127.0.0.1:${port}/api/hello\`, \`emit\` and \`log\` (both are \`output.emit\`). Everything
  else is denied, printed as \`warden: DENY …\` with the reason, and written to the audit log.
- The agent's name is its file name without the extension (\`agent\`): the audit, the
  \`DENY\` lines and policy rules (\`agent.*\`) use it.
- What follows \`--\` on the \`deno task run\` line is the agent's \`Deno.args\`;
  \`--env NAME=VALUE\` sets a value it reads with \`env.get(NAME)\` (still decided by the policy).
`;
}

/** `DIR` must not exist, or be an empty directory; else a one-line refusal naming it. */
function checkTarget(dir: string): void {
  // The host refuses own code whose path has a comma (it would split a permission flag).
  if (dir.includes(",")) {
    throw new CliError(`${dir}: a comma in the path (agents cannot run from it)`);
  }
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw new CliError(`${dir}: ${fsProblem(e)}`);
  }
  if (!st.isDirectory) throw new CliError(`${dir}: exists and is not a directory`);
  let entries: string[];
  try {
    entries = [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch (e) {
    throw new CliError(`${dir}: ${fsProblem(e)}`);
  }
  if (entries.length > 0) {
    throw new CliError(`${dir}: not empty (init writes only into a new or empty directory)`);
  }
}

/** Write the files; never over an existing one (`createNew`), whatever raced us. */
function writeAll(dir: string, files: Record<string, string>): void {
  try {
    Deno.mkdirSync(join(dir, "workspace"), { recursive: true });
    for (const [rel, text] of Object.entries(files)) {
      Deno.writeTextFileSync(join(dir, rel), text, { createNew: true });
    }
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new CliError(
        `${dir}: a file appeared while writing (${fsProblem(e)}); nothing overwritten`,
      );
    }
    throw new CliError(`${dir}: cannot write: ${fsProblem(e)}`);
  }
}

const OPTIONS = { port: { type: "string" } } as const;

/** `deno task init`. */
export const spec: CliSpec = {
  name: "init",
  command: command({
    args: "[DIR] [--port N]",
    help: `  DIR        a new (or empty) directory for the agent (default: ./my-agent)
  --port N   the loopback API's port in api.ts, agent.ts and policy.yaml (default: ${TEMPLATE_PORT})`,
    options: OPTIONS,
    positionals: [0, 1],
    main({ values, positionals }) {
      const port = intFlag("port", values.port, 1, 65535) ?? Number(TEMPLATE_PORT);
      const dir = resolve(positionals[0] ?? "my-agent");
      checkTarget(dir);
      const files = initFiles(dir, port);
      writeAll(dir, files);
      console.log(`wrote a governed agent to ${dir}: ${Object.keys(files).join(", ")}
next, from this checkout:
${nextSteps(dir, port)}`);
      return 0;
    },
  }),
};

if (import.meta.main) await runCli(spec);
