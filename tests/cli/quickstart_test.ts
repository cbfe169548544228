/**
 * README's "Your first governed agent", executed: its `sh` blocks run verbatim, in order, in one
 * shell from the checkout root, and each `text` block after a command block lists lines that
 * command's output must show (`…` stands for any text). The `ts` and `yaml` blocks are the files
 * `deno task init` writes.
 */
import { dirname } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { initFiles } from "../../runtime/cli/init.ts";
import { wardenHome } from "./run.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SECTION = "## Your first governed agent";
/** The exit code of each `sh` block's last command, as the section describes them. */
const EXIT_CODES = [0, 0, 0, 1, 0, 0];

interface Block {
  lang: string;
  text: string;
}

/** The fenced blocks of README's quick-start section, in order. */
function sectionBlocks(): Block[] {
  const readme = Deno.readTextFileSync(`${ROOT}README.md`);
  const start = readme.indexOf(`\n${SECTION}\n`);
  assert(start >= 0, `README has no "${SECTION}" section`);
  const end = readme.indexOf("\n## ", start + SECTION.length + 2);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1],
    text: m[2],
  }));
}

/** Lines of `out` must include each expected line, in order (`…` matches anything). */
function assertShows(out: string, expected: string, what: string): void {
  const lines = out.split("\n");
  let at = 0;
  for (const want of expected.trimEnd().split("\n")) {
    const re = new RegExp(
      `^${want.split("…").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`,
    );
    const i = lines.findIndex((l, j) => j >= at && re.test(l));
    assert(i >= 0, `${what}: no line like\n  ${want}\nin\n${out}`);
    at = i + 1;
  }
}

Deno.test("README's first governed agent: the files shown are the files init writes", () => {
  const blocks = sectionBlocks();
  const files = initFiles("/any/my-agent", 8787);
  const ts = blocks.filter((b) => b.lang === "ts");
  const yaml = blocks.filter((b) => b.lang === "yaml");
  assertEquals(ts.length, 1);
  assertEquals(ts[0].text, files["agent.ts"]);
  assertEquals(yaml.length, 1);
  assertEquals(yaml[0].text, files["policy.yaml"]);
});

Deno.test("README's first governed agent runs verbatim: init, run, a denial, a policy change, the audit", async () => {
  // The API the section starts listens on 127.0.0.1:8787: say so plainly when it cannot.
  try {
    Deno.listen({ hostname: "127.0.0.1", port: 8787 }).close();
  } catch (e) {
    throw new Error(`the quick start needs 127.0.0.1:8787 free: ${(e as Error).message}`);
  }
  const blocks = sectionBlocks();
  const commands: { sh: string; expect: string | null }[] = [];
  for (const b of blocks) {
    if (b.lang === "sh") commands.push({ sh: b.text, expect: null });
    else if (b.lang === "text" && commands.length > 0) {
      commands[commands.length - 1].expect = b.text;
    }
  }
  assertEquals(commands.length, EXIT_CODES.length, "sh blocks in the section");
  const script = [
    "exec 2>&1",
    // Whatever happens, nothing the section started in the background outlives the test.
    "trap 'kill $(jobs -p) 2>/dev/null' EXIT",
    ...commands.flatMap((c, i) => [`echo "@@block ${i}"`, c.sh.trimEnd(), `echo "@@rc $?"`]),
    `echo "@@agent $AGENT"`,
  ].join("\n");
  const out = await new Deno.Command("sh", {
    args: ["-c", script],
    cwd: ROOT,
    env: {
      NO_COLOR: "1",
      WARDEN_HOME: wardenHome(),
      PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(300_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const agent = /^@@agent (.+)$/m.exec(text)?.[1];
  try {
    assert(!/^\s+at .*:\d+:\d+\)?$/m.test(text), `a stack trace:\n${text}`);
    const parts = text.split(/^@@block \d+\n/m).slice(1);
    assertEquals(parts.length, commands.length, text);
    for (const [i, part] of parts.entries()) {
      const rc = Number(/^@@rc (\d+)$/m.exec(part)?.[1]);
      const shown = `block ${i} (${commands[i].sh.split("\n")[0]})`;
      assertEquals(rc, EXIT_CODES[i], `${shown} exit code:\n${part}`);
      if (commands[i].expect) assertShows(part, commands[i].expect!, shown);
    }
  } finally {
    if (agent) await Deno.remove(dirname(agent), { recursive: true }).catch(() => {});
  }
});
