/**
 * Install, don't bundle (issue 19), for local agents that import npm frameworks by bare name:
 * the unmodified AI SDK, LangChain.js and OpenAI Agents JS agents run by `deno task run`
 * without `--bundle` — their bare imports resolve as the project's `deno.json` maps them to
 * exact `npm:` versions, installed once in the package store — at ring 2: their workspace read
 * is allowed, their raw fetch of a loopback server refused at the broker.
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch } from "../policy/asserts.ts";
import { runDeno } from "../cli/run.ts";

const AGENTS = new URL("../adapters/agents/unmodified/", import.meta.url).pathname;

for (const framework of ["ai_sdk", "langchain", "openai_agents"]) {
  Deno.test(`unmodified ${framework} agent runs unbundled, installed from the store`, async () => {
    let requests = 0;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
      requests++;
      return new Response("page body");
    });
    const ws = Deno.makeTempDirSync({ prefix: `warden-unbundled-${framework}-` });
    try {
      Deno.writeTextFileSync(join(ws, "note.txt"), "the note says hello");
      const url = `http://127.0.0.1:${server.addr.port}/page`;
      Deno.writeTextFileSync(join(ws, "params.json"), JSON.stringify({ url }));
      const r = await runDeno([
        "task",
        "--quiet",
        "run",
        join(AGENTS, `${framework}.ts`),
        "--ring",
        "2",
        "--workspace",
        ws,
      ]);
      assertEquals(r.code, 0, r.stderr);
      const line = r.stdout.split("\n").findLast((l) => l.startsWith("{"));
      assert(line, `no result line:\n${r.stdout}\n${r.stderr}`);
      const { final } = JSON.parse(line) as { final: string };
      assertMatch(final, /read_note: the note says hello/);
      assertMatch(final, /fetch_page: error: .*Warden denied net\.connect 127\.0\.0\.1:\d+/);
      assertEquals(requests, 0, "requests that reached the server");
    } finally {
      await server.shutdown();
      Deno.removeSync(ws, { recursive: true });
    }
  });
}
