/**
 * The console test is never skipped silently: run without its browser (WARDEN_CHROMIUM names a
 * file that does not exist) it fails, and says why in one line.
 */
import { assertEquals } from "../policy/asserts.ts";

Deno.test("console test without Chromium: fails with one line naming the browser and the fix", async () => {
  const missing = "/nonexistent/chromium";
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-prompt", "--no-check", "tests/server/console_test.ts"],
    cwd: new URL("../../", import.meta.url).pathname,
    env: { WARDEN_CHROMIUM: missing, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertEquals(out.code === 0, false, text);
  const line = `error: "console test: no Chromium at ${missing}: install it (apt-get install ` +
    `chromium; .ci/run does) or set WARDEN_CHROMIUM"`;
  const lines = text.split("\n");
  const at = lines.indexOf(line);
  if (at < 0) throw new Error(`no "${line}" in:\n${text}`);
  // the line is the whole error: no stack frames of the test follow it
  if (/^\s+at /.test(lines[at + 1] ?? "")) throw new Error(`a stack follows the line:\n${text}`);
  if (/ignored|skipped/.test(text) && !/0 ignored/.test(text)) throw new Error(text);
});
