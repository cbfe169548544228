/**
 * Every usage block in README (a ```sh block whose first line is `usage: deno task X …`) equals
 * the synopsis `deno task X --help` prints (its usage lines), and every command has one.
 * Commands come from deno.json's tasks, so a new one is covered by construction.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { fences } from "./markdown.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const README = Deno.readTextFileSync(join(ROOT, "README.md"));
/** Tasks that are not Warden CLIs (deno's own test runner; `check` is a runner CLI). */
const NOT_CLIS = new Set(["test"]);

/** `deno task -q <task> --help`, killed after a generous deadline. */
async function help(task: string, home: string): Promise<{ code: number; out: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", task, "--help"],
    cwd: ROOT,
    env: { NO_COLOR: "1", WARDEN_HOME: home },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, out: new TextDecoder().decode(out.stdout) };
}

/**
 * The synopsis of a help text: its first lines, up to a blank line or an indented line that is
 * not a continuation (`deno task …` or `[--flag …]`: flag and description paragraphs follow).
 */
export function synopsis(text: string): string {
  const out: string[] = [];
  for (const l of text.split("\n").map((l) => l.trimEnd())) {
    if (l === "" || (/^\s/.test(l) && !/^\s+(deno task |\[)/.test(l))) break;
    out.push(l);
  }
  return out.join("\n");
}

/** README's usage blocks by task name. */
export function usageBlocks(readme: string): Map<string, { line: number; text: string }[]> {
  const out = new Map<string, { line: number; text: string }[]>();
  for (const f of fences(readme)) {
    const m = /^usage: deno task (\S+)/.exec(f.body);
    if (!m || !["sh", "text", ""].includes(f.lang)) continue;
    const list = out.get(m[1]) ?? [];
    list.push({
      line: f.line,
      text: f.body.trimEnd().split("\n").map((l) => l.trimEnd()).join("\n"),
    });
    out.set(m[1], list);
  }
  return out;
}

Deno.test("README usage blocks equal each command's --help synopsis; every command has one", async () => {
  const tasks = Object.keys(JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))).tasks)
    .filter((t) => !NOT_CLIS.has(t)).sort();
  const blocks = usageBlocks(README);
  const problems: string[] = [];
  for (const t of blocks.keys()) {
    if (!tasks.includes(t)) problems.push(`README has a usage block for unknown task "${t}"`);
  }
  const queue = [...tasks];
  const worker = async () => {
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
      const h = await help(t, home);
      if (h.code !== 0 || !h.out.startsWith(`usage: deno task ${t}`)) {
        problems.push(`deno task ${t} --help: exit ${h.code}, no usage line on stdout`);
        continue;
      }
      const want = synopsis(h.out);
      const shown = blocks.get(t);
      if (!shown) {
        problems.push(`no usage block in README for "deno task ${t}"; --help says:\n${want}`);
        continue;
      }
      for (const b of shown) {
        if (b.text !== want) {
          problems.push(`README.md:${b.line}: usage of "${t}" differs from --help:\n${want}`);
        }
      }
    }
  };
  const home = await Deno.makeTempDir({ prefix: "warden-usage-" });
  try {
    await Promise.all([worker(), worker(), worker()]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
  assertEquals(problems.sort(), []);
});
