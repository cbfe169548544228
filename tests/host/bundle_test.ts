/**
 * Bundled agents (AgentSpec.bundle): npm packages resolved by the host from the lockfile, the
 * bundle run in the sandboxed worker. The bundler itself is confined: an agent whose imports
 * name host files cannot get them inlined into its bundle.
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertRejects } from "../policy/asserts.ts";
import { newHost } from "./helpers.ts";

const SDK = new URL("../../sdk/mod.ts", import.meta.url).href;

function agentDir(files: Record<string, string>): string {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-bundle-agent-" }));
  for (const [name, text] of Object.entries(files)) Deno.writeTextFileSync(join(dir, name), text);
  return dir;
}

Deno.test("an agent that imports an npm package is bundled and runs in its worker", async () => {
  const dir = agentDir({
    "agent.ts": `import { z } from "zod";
import { emit } from "${SDK}";
await emit(z.object({ n: z.number() }).parse({ n: 42 }));
`,
  });
  const host = newHost();
  const outputs: unknown[] = [];
  try {
    const h = await host.start({ module: join(dir, "agent.ts"), bundle: true, stdio: "null" });
    const exit = await h.exited;
    assertEquals(exit.code, 0);
    const emitted = host.audit.recent.filter((e) => e.action === "output.emit");
    assertEquals(emitted.length, 1);
    outputs.push(...emitted);
  } finally {
    await host.close();
    Deno.removeSync(dir, { recursive: true });
  }
  assert(outputs.length === 1);
});

Deno.test("the bundler is confined: host files named by an agent's imports are not inlined", async () => {
  const secretDir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-bundle-secret-" }));
  const marker = `BUNDLE-SECRET-${crypto.randomUUID()}`;
  const secret = join(secretDir, "secret.json");
  Deno.writeTextFileSync(secret, JSON.stringify({ marker }));
  const attacks = {
    "json.ts": `import s from "${secret}" with { type: "json" };\nconsole.log(s.marker);\n`,
    "text.ts": `import s from "${join(secretDir, "secret.json")}" with { type: "text" };\n` +
      `console.log(s);\n`,
    "mapped/agent.ts": `import s from "leak" with { type: "json" };\nconsole.log(s.marker);\n`,
  };
  const dir = agentDir({ "json.ts": attacks["json.ts"], "text.ts": attacks["text.ts"] });
  Deno.mkdirSync(join(dir, "mapped"));
  Deno.writeTextFileSync(join(dir, "mapped", "agent.ts"), attacks["mapped/agent.ts"]);
  Deno.writeTextFileSync(
    join(dir, "mapped", "deno.json"),
    JSON.stringify({ imports: { leak: `file://${secret}` } }),
  );
  const host = newHost();
  try {
    for (const name of Object.keys(attacks)) {
      const err = await assertRejects(
        () => host.start({ module: join(dir, name), bundle: true, stdio: "null" }),
      );
      assertMatch(err.message, /bundling .* (failed|refused)/, name);
      assert(!err.message.includes(marker), `${name}: the secret leaked into the error`);
    }
    // Nothing was bundled with the secret in it.
    for (const e of Deno.readDirSync(host.stateDir)) {
      const code = join(host.stateDir, e.name, "code");
      try {
        for (const f of Deno.readDirSync(code)) {
          assert(!Deno.readTextFileSync(join(code, f.name)).includes(marker), "secret bundled");
        }
      } catch (x) {
        if (!(x instanceof Deno.errors.NotFound)) throw x;
      }
    }
  } finally {
    await host.close();
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(secretDir, { recursive: true });
  }
});

Deno.test("without the kernel sandbox, bundling is refused (it could not be confined)", async () => {
  const dir = agentDir({ "agent.ts": "console.log('hi');\n" });
  const host = newHost({ sandbox: "off" });
  try {
    await assertRejects(
      () => host.start({ module: join(dir, "agent.ts"), bundle: true }),
      Error,
      "bundling needs the kernel sandbox",
    );
  } finally {
    await host.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
