/**
 * Colour only on a terminal with NO_COLOR unset: `deno task demo > file` is plain text, a pty
 * still gets colour, NO_COLOR turns it off there too; names cut for display end in an ellipsis.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { clip } from "../../runtime/cli/colour.ts";
import { describe } from "../../runtime/cli/args.ts";
import type { AuditEntry } from "../../governance/audit/mod.ts";
import { wardenHome } from "./run.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ESC = "\x1b";

/** The test's environment without NO_COLOR (the runner may set it), with a private home. */
function envWithoutNoColor(extra: Record<string, string> = {}): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.NO_COLOR;
  return { ...env, WARDEN_HOME: wardenHome(), ...extra };
}

Deno.test("deno task demo > file: plain text, no ESC byte, with NO_COLOR unset", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-colour-" });
  try {
    const file = join(dir, "demo.txt");
    const out = await new Deno.Command("sh", {
      args: ["-c", `"$0" task -q demo > "$1"`, Deno.execPath(), file],
      cwd: ROOT,
      clearEnv: true,
      env: envWithoutNoColor(),
      stdout: "null",
      stderr: "piped",
    }).output();
    const text = await Deno.readTextFile(file);
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    if (!text.includes("Summary")) throw new Error(`no summary in the demo's output:\n${text}`);
    const at = text.indexOf(ESC);
    if (at >= 0) {
      throw new Error(`ESC in redirected output: ${JSON.stringify(text.slice(at - 20, at + 20))}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const hasScript = (() => {
  try {
    return Deno.statSync("/usr/bin/script").isFile;
  } catch {
    return false;
  }
})();

/** Run a tiny program printing bold text on a pseudo-terminal (util-linux `script`). */
async function onPty(env: Record<string, string>): Promise<string> {
  const code = `import { bold } from "./runtime/cli/colour.ts"; console.log(bold("hello"));`;
  const cmd = `"${Deno.execPath()}" eval '${code}'`;
  const out = await new Deno.Command("/usr/bin/script", {
    args: ["-qec", cmd, "/dev/null"],
    cwd: ROOT,
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, text + new TextDecoder().decode(out.stderr));
  return text;
}

Deno.test({
  name: "on a terminal colour stays; NO_COLOR turns it off there too",
  ignore: !hasScript,
  fn: async () => {
    assertEquals((await onPty(envWithoutNoColor())).includes(`${ESC}[1mhello`), true);
    const plain = await onPty(envWithoutNoColor({ NO_COLOR: "1" }));
    assertEquals([plain.includes("hello"), plain.includes(ESC)], [true, false]);
  },
});

Deno.test("clip: cut names end with an ellipsis, within the width, never splitting a character", () => {
  assertEquals(clip("short", 10), "short");
  assertEquals(clip("exactly10!", 10), "exactly10!");
  assertEquals(clip("a-long-resource-name", 10), "a-long-re…");
  assertEquals(Array.from(clip("a-long-resource-name", 10)).length, 10);
  assertEquals(clip("😀".repeat(12), 10), "😀".repeat(9) + "…");
  assertEquals(clip("😀".repeat(5), 5), "😀".repeat(5));
});

Deno.test("describe: a resource cut for display says so with an ellipsis", () => {
  const entry = {
    effect: "deny",
    agent: { id: "a", name: "rogue", ring: 2 },
    action: "fs.read",
    resource: "/" + "x".repeat(300),
    reason: "denied by default",
  } as unknown as AuditEntry;
  const line = describe(entry);
  if (!line.includes("x… — denied by default")) throw new Error(line);
  const short = describe({ ...entry, resource: "/etc/shadow" } as AuditEntry);
  assertEquals(short.includes("…"), false);
});

Deno.test("describe: control and direction characters an agent put in a resource are shown, not sent", () => {
  const entry = {
    effect: "deny",
    agent: { id: "a", name: "rogue\u202e", ring: 2 },
    action: "fs.read",
    resource: "/tmp/\x1b[2J\x1b[1;1Hall clear\r",
    reason: 'denied: "/tmp/\x1b[2J"',
  } as unknown as AuditEntry;
  const line = describe(entry);
  assertEquals(/[\p{Cc}\p{Cf}]/u.test(line), false, JSON.stringify(line));
  if (!line.includes("\\u{1b}[2J")) throw new Error(line);
});

Deno.test("deno task run: an agent's log, output and denied resource print no raw control characters", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "run", "tests/cli/agents/escaper.ts", "--timeout", "20000"],
    cwd: ROOT,
    env: { NO_COLOR: "1", WARDEN_HOME: wardenHome() },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  for (const seen of ["warden: log [info] \\u{1b}[2J", "warden: output", "\\u{1b}[31mshadow"]) {
    if (!stderr.includes(seen)) throw new Error(`no ${JSON.stringify(seen)} in:\n${stderr}`);
  }
  const lines = stderr.split("\n").filter((l) => l.startsWith("warden:"));
  const raw = lines.filter((l) => /[\p{Cc}\p{Cf}\u2028\u2029]/u.test(l));
  assertEquals(raw, []);
});

Deno.test("ANSI escapes are written in one place only: runtime/cli/colour.ts", () => {
  // graph.ts strips deno's colour from its output (a reader, not a writer)
  const allowed = new Set(["runtime/cli/colour.ts", "runtime/supervisor/graph.ts"]);
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(join(ROOT, dir))) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory) walk(rel);
      else if (/\.(ts|js|html)$/.test(e.name) && !allowed.has(rel)) {
        const text = Deno.readTextFileSync(join(ROOT, rel));
        const escaped = /\\x1b\[|\\u001b\[|\\u\{1b\}\[|\\033\[/i.test(text);
        if (escaped || text.includes(`${ESC}[`)) found.push(rel);
      }
    }
  };
  for (const d of ["runtime", "sdk", "governance", "examples"]) walk(d);
  assertEquals(found, []);
});
