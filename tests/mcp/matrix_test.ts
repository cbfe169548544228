/**
 * The MCP compatibility matrix (issue 19): popular npm MCP servers nobody here wrote, each
 * installed in the package store and run at ring 2 behind the gateway under
 * `examples/mcp/matrix.yaml`, exercised with the official SDK client: the listing, one allowed
 * call, one refused call, and resources and prompts where the server has them. README's
 * "Compatibility" table is this list.
 */
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { assert, assertEquals, assertMatch } from "../policy/asserts.ts";
import { AgentHost } from "../../runtime/host.ts";
import { McpGateway } from "../../runtime/mcp/gateway.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

type Call = { tool: string; args: Record<string, unknown> };
interface Case {
  server: string;
  args?: (ws: string) => string[];
  env?: Record<string, string>;
  files?: Record<string, string>;
  /** A tool the listing must show. */
  lists: string;
  /** `rejects`: the call fails as a JSON-RPC error matching `expect` (not a tool result). */
  allowed: Call & { expect: RegExp; rejects?: boolean };
  refused: Call & { expect: RegExp };
  more?: (c: Client) => Promise<void>;
}

export const MATRIX: Case[] = [
  {
    server: "npm:@modelcontextprotocol/server-filesystem@2026.8.31",
    args: (ws) => [ws],
    files: { "hello.txt": "hello from the workspace" },
    lists: "read_text_file",
    allowed: { tool: "read_text_file", args: { path: "hello.txt" }, expect: /hello from the/ },
    refused: { tool: "write_file", args: { path: "x.txt", content: "x" }, expect: /denied/ },
  },
  {
    server: "npm:@modelcontextprotocol/server-everything@2026.8.31",
    lists: "echo",
    allowed: { tool: "echo", args: { message: "hi there" }, expect: /hi there/ },
    refused: { tool: "get-env", args: {}, expect: /denied/ },
    more: async (c) => {
      const prompts = (await c.listPrompts()).prompts.map((p: { name: string }) => p.name);
      assert(prompts.includes("simple-prompt"), prompts.join());
      const p = await c.getPrompt({ name: "simple-prompt" });
      assert(p.messages.length > 0, "the prompt has messages");
      const res = (await c.listResources()).resources;
      assert(res.length > 0, "resources are listed");
      const r = await c.readResource({ uri: res[0].uri });
      assert(r.contents.length > 0, "a resource is read");
    },
  },
  {
    server: "npm:@modelcontextprotocol/server-memory@2026.8.31",
    env: { MEMORY_FILE_PATH: "${workspace}/memory.jsonl" },
    lists: "create_entities",
    allowed: {
      tool: "create_entities",
      args: { entities: [{ name: "Ada", entityType: "person", observations: ["engineer"] }] },
      expect: /Ada/,
    },
    refused: { tool: "delete_entities", args: { entityNames: ["Ada"] }, expect: /denied/ },
  },
  {
    server: "npm:@modelcontextprotocol/server-sequential-thinking@2026.8.31",
    lists: "sequentialthinking",
    allowed: {
      tool: "sequentialthinking",
      args: { thought: "a", nextThoughtNeeded: false, thoughtNumber: 1, totalThoughts: 1 },
      expect: /thoughtNumber/,
    },
    refused: {
      tool: "sequentialthinking",
      args: { thought: "a", nextThoughtNeeded: true, thoughtNumber: 1, totalThoughts: 9 },
      expect: /few-thoughts/,
    },
  },
  {
    server: "npm:mcp-hello-world@1.1.2",
    lists: "echo",
    allowed: { tool: "echo", args: { message: "hello" }, expect: /hello/ },
    refused: { tool: "add", args: { a: 1, b: 2 }, expect: /denied/ },
  },
  {
    server: "npm:@eslint/mcp@0.3.13",
    files: { "eslint.config.js": "export default [];\n", "a.js": "const x = 1;\n" },
    lists: "lint-files",
    allowed: { tool: "lint-files", args: { filePaths: ["a.js"] }, expect: /a\.js/ },
    // Allowed as a call, but the server cannot see /etc/passwd: its reads there are refused
    // by the ring ceiling (the file exists; to the server it does not).
    refused: {
      tool: "lint-files",
      args: { filePaths: ["/etc/passwd"] },
      expect: /No files matching '\/etc\/passwd'/,
    },
  },
  {
    server: "npm:@mastra/mcp-docs-server@1.2.27",
    lists: "mastraDocs",
    // Its documentation ships in its package: read from the store, as published.
    allowed: { tool: "mastraDocs", args: { paths: ["reference/"] }, expect: /reference/i },
    refused: { tool: "startMastraCourse", args: {}, expect: /denied/ },
  },
  {
    server: "npm:@modelcontextprotocol/server-github@2025.4.8",
    lists: "search_repositories",
    // Allowed by the policy, but its request to api.github.com is refused at the broker (no
    // rule allows the host): the tool reports the failure. Runs fully with such a rule.
    allowed: {
      tool: "search_repositories",
      args: { query: "warden" },
      expect: /Warden denied net\.connect api\.github\.com:443/,
      rejects: true,
    },
    refused: {
      tool: "create_repository",
      args: { name: "x" },
      expect: /denied/,
    },
  },
];

const text = (r: { content?: unknown }) => JSON.stringify(r.content ?? r);

Deno.test({
  name: "MCP compatibility matrix: popular npm servers, unmodified, governed at ring 2",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const tmp = Deno.makeTempDirSync({ prefix: "warden-matrix-" });
    const host = new AgentHost({
      policy: loadPolicy([join(ROOT, "examples/mcp/matrix.yaml")], { builtin: true }),
      rings: loadRings(),
      stateDir: join(tmp, "state"),
      storeDir: Deno.env.get("WARDEN_TEST_STORE") ?? join(tmp, "store"),
    });
    try {
      for (const c of MATRIX) {
        await t.step(c.server, async () => {
          const ws = Deno.makeTempDirSync({ dir: tmp, prefix: "ws-" });
          for (const [f, body] of Object.entries(c.files ?? {})) {
            Deno.writeTextFileSync(join(ws, f), body);
          }
          const notices: string[] = [];
          const gw = await McpGateway.start({
            host,
            server: { module: c.server, args: c.args?.(ws), env: c.env, workspace: ws, ring: 2 },
            onNotice: (l) => notices.push(l),
          });
          const [a, b] = InMemoryTransport.createLinkedPair();
          await gw.serve(b);
          const client = new Client({ name: "matrix", version: "1.0.0" });
          try {
            await client.connect(a);
            const listed = (await client.listTools()).tools.map((x: { name: string }) => x.name);
            assert(listed.includes(c.lists), `${c.lists} not in ${listed.join()}`);
            const call = client.callTool({ name: c.allowed.tool, arguments: c.allowed.args });
            if (c.allowed.rejects) {
              const why = await call.then(
                (r: { content?: unknown }) => `resolved: ${text(r)}`,
                (e: unknown) => String(e),
              );
              assertMatch(why, c.allowed.expect);
            } else {
              const ok = await call;
              assertEquals(ok.isError ?? false, false, text(ok));
              assertMatch(text(ok), c.allowed.expect);
            }
            const no = await client.callTool({ name: c.refused.tool, arguments: c.refused.args });
            assertEquals(no.isError, true, text(no));
            assertMatch(text(no), c.refused.expect);
            await c.more?.(client);
          } catch (e) {
            throw new Error(`${(e as Error).message}\n${notices.slice(-15).join("\n")}`);
          } finally {
            await client.close();
            await gw.close();
          }
        });
      }
    } finally {
      await host.close();
      new Deno.Command("chmod", { args: ["-R", "u+w", tmp] }).outputSync();
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});
