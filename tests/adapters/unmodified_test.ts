/**
 * Unmodified framework agents (issue 19): an AI SDK, a LangChain.js and an OpenAI Agents JS
 * agent written as anyone writes one — no Warden import, tools doing raw node:fs and global
 * fetch, scripted models — run by `deno task run --bundle` at ring 2 under the shipped policy.
 * Their workspace read is allowed; their fetch of a loopback server is refused at the broker
 * and the framework hands the error to the model like any tool failure.
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch } from "../policy/asserts.ts";
import { runDeno } from "../cli/run.ts";

const AGENTS = new URL("./agents/unmodified/", import.meta.url).pathname;

for (const framework of ["ai_sdk", "langchain", "openai_agents"]) {
  Deno.test(`unmodified ${framework} agent: its file read is allowed, its raw fetch refused`, async () => {
    let requests = 0;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
      requests++;
      return new Response("page body");
    });
    const ws = Deno.makeTempDirSync({ prefix: `warden-${framework}-` });
    try {
      Deno.writeTextFileSync(join(ws, "note.txt"), "the note says hello");
      const url = `http://127.0.0.1:${server.addr.port}/page`;
      Deno.writeTextFileSync(join(ws, "params.json"), JSON.stringify({ url }));
      const audit = join(ws, "..", `${framework}-${crypto.randomUUID()}.jsonl`);
      const r = await runDeno([
        "task",
        "--quiet",
        "run",
        join(AGENTS, `${framework}.ts`),
        "--bundle",
        "--ring",
        "2",
        "--workspace",
        ws,
        "--audit",
        audit,
      ]);
      assertEquals(r.code, 0, r.stderr);
      const line = r.stdout.split("\n").findLast((l) => l.startsWith("{"));
      assert(line, `no result line:\n${r.stdout}\n${r.stderr}`);
      const { final } = JSON.parse(line) as { final: string };
      assertMatch(final, /read_note: the note says hello/);
      assertMatch(final, /fetch_page: error: .*Warden denied net\.connect 127\.0\.0\.1:\d+/);
      assertEquals(requests, 0, "requests that reached the server");
      const entries = Deno.readTextFileSync(audit).trim().split("\n").map((l) => JSON.parse(l));
      assert(
        entries.some((e) =>
          e.action === "fs.read" && e.effect === "allow" &&
          e.resource.endsWith("/note.txt")
        ),
        "the read is audited as allowed",
      );
      Deno.removeSync(audit);
    } finally {
      await server.shutdown();
      Deno.removeSync(ws, { recursive: true });
    }
  });
}
