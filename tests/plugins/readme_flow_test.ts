/**
 * README's plugin steps, run as written (in a temp warden home, the copy in a temp directory):
 * they work, and they leave the tracked example manifest byte for byte as it was.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { fences } from "../docs/markdown.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TRACKED = join(ROOT, "examples/plugins/weather/plugin.json");

Deno.test("README's plugin steps work and do not touch the tracked example", async () => {
  const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
  const section = readme.slice(readme.indexOf("\n## Plugins\n"));
  const block = fences(section).find((f) => f.lang === "sh");
  if (!block) throw new Error("no sh block under ## Plugins");
  const before = Deno.readTextFileSync(TRACKED);
  const home = await Deno.makeTempDir({ prefix: "warden-readme-plugin-" });
  const copy = join(home, "copy");
  let did = "";
  try {
    for (const raw of block.body.split("\n")) {
      const line = raw.replace(/\s+#.*$/, "").trim();
      // skip blanks and the synopsis line of the other sub-commands
      if (line === "" || line.includes(" | ")) continue;
      const cmd = line
        .replaceAll("/tmp/weather", copy)
        .replaceAll("did:key:z6Mk…", did)
        .replace(/\s*\[[^\]]*\]/g, "")
        .replace(/^deno /, `"${Deno.execPath()}" `)
        .replace(/ task /, " task -q ");
      if (/ plugin sign /.test(cmd) && !cmd.includes(copy)) {
        throw new Error(`README signs a folder in place that is not a copy: ${line}`);
      }
      const out = await new Deno.Command("sh", {
        args: ["-c", cmd],
        cwd: ROOT,
        env: { WARDEN_HOME: home, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const [stdout, stderr] = [out.stdout, out.stderr].map((b) => new TextDecoder().decode(b));
      assertEquals(out.code, 0, `${line}\n${stdout}${stderr}`);
      if (/ keygen /.test(line)) {
        did = stdout.trim().split(/\s+/).find((w) => w.startsWith("did:key:"))!;
      }
      if (/ run /.test(line)) {
        const forecast = JSON.parse(stdout.trim());
        assertEquals(forecast.city, "Lisbon");
      }
    }
    if (!did) throw new Error("the steps never made a key");
    assertEquals(Deno.readTextFileSync(TRACKED), before);
    // what sign wrote into the copy: readable, the reader's publisher
    const signed = JSON.parse(Deno.readTextFileSync(join(copy, "plugin.json")));
    assertEquals(signed.publisher, did);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
