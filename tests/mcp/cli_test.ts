/**
 * `deno task mcp-gateway` end to end, driven by the MCP SDK's own stdio client: the notes
 * server from this repository and the off-the-shelf `@modelcontextprotocol/server-memory` from
 * npm, each in a governed worker process; the audit log verifies; operator mistakes get one
 * clear line.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { join } from "node:path";
import { assert, assertEquals, assertMatch } from "../policy/asserts.ts";
import { NOTES, POLICY, text } from "./helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const DENO = Deno.execPath();
/** Keys and state of the gateways these tests start (never the user's own). */
const HOME = Deno.makeTempDirSync({ prefix: "warden-mcp-home-" });
const ENV = { WARDEN_HOME: HOME, NO_COLOR: "1" };
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(HOME, { recursive: true });
  } catch { /* gone */ }
});

async function connect(args: string[]): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: DENO,
    args: ["task", "--quiet", "mcp-gateway", ...args],
    cwd: ROOT,
    stderr: "pipe",
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "", ...ENV },
  });
  let err = "";
  transport.stderr?.on("data", (b: Uint8Array) => (err += new TextDecoder().decode(b)));
  const client = new Client({ name: "cli-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, stderr: () => err };
}

function names(r: { tools: { name: string }[] }): string[] {
  return r.tools.map((t) => t.name).sort();
}

Deno.test("deno task mcp-gateway governs the notes server and writes a verifiable audit log", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "warden-mcp-" });
  const audit = join(dir, "audit.jsonl");
  try {
    const { client, stderr } = await connect([
      "--server",
      `deno run -A ${NOTES}`,
      "--policy",
      POLICY,
      "--audit",
      audit,
      "--keystore",
      join(dir, "keys"),
    ]);
    assertEquals(names(await client.listTools()), [
      "add_note",
      "export_notes",
      "list_notes",
      "read_file",
    ]);
    assertEquals(
      text(await client.callTool({ name: "add_note", arguments: { text: "hi" } })),
      "added note 1",
    );
    const denied = await client.callTool({ name: "delete_notes", arguments: {} });
    assertEquals(denied.isError, true);
    assertMatch(text(denied), /Warden denied tool "delete_notes" \(rule no-delete\)/);
    await client.close();
    assertMatch(stderr(), /ignoring -A \(ring 2 and the policy decide permissions\)/);
    assertMatch(stderr(), /warden: DENY {2}notes tool\.call delete_notes/);
    const entries = Deno.readTextFileSync(audit).trim().split("\n").map((l) => JSON.parse(l));
    const calls = entries.filter((e) => e.path === "mcp").map((e) => [e.resource, e.effect]);
    assertEquals(calls, [["add_note", "allow"], ["delete_notes", "deny"]]);
    const verify = await new Deno.Command(DENO, {
      args: ["task", "--quiet", "audit", "verify", audit],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(verify.code, 0, new TextDecoder().decode(verify.stderr));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("an off-the-shelf npm server (server-memory) runs governed behind the gateway", async () => {
  const ws = Deno.makeTempDirSync({ prefix: "warden-mcp-ws-" });
  try {
    const { client } = await connect([
      "--server",
      "npx -y @modelcontextprotocol/server-memory",
      "--workspace",
      ws,
      "--env",
      "MEMORY_FILE_PATH=${workspace}/memory.jsonl",
      "--policy",
      POLICY,
    ]);
    const listed = names(await client.listTools());
    assert(listed.includes("create_entities") && listed.includes("read_graph"), listed.join());
    assert(!listed.includes("delete_entities"), "a tool the policy never allows is hidden");
    const created = await client.callTool({
      name: "create_entities",
      arguments: { entities: [{ name: "Ada", entityType: "person", observations: ["engineer"] }] },
    });
    assertEquals(created.isError, undefined, text(created));
    const del = await client.callTool({
      name: "delete_entities",
      arguments: { entityNames: ["Ada"] },
    });
    assertEquals(del.isError, true);
    assertMatch(text(del), /rule no-delete/);
    assertMatch(text(await client.callTool({ name: "read_graph", arguments: {} })), /"Ada"/);
    await client.close();
    assertMatch(Deno.readTextFileSync(join(ws, "memory.jsonl")), /"name":"Ada"/);
  } finally {
    Deno.removeSync(ws, { recursive: true });
  }
});

async function gateway(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const r = await new Deno.Command(DENO, {
    args: ["task", "--quiet", "mcp-gateway", ...args],
    cwd: ROOT,
    env: ENV,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

Deno.test("operator mistakes are one clear line, never a stack trace", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "warden-mcp-bad-" });
  try {
    const bad = join(dir, "bad.yaml");
    Deno.writeTextFileSync(
      bad,
      "apiVersion: warden/v1\nkind: Policy\nname: x\nrules:\n  - id: a\n    effect: alow\n    action: tool.call\n",
    );
    const cases: [string[], RegExp][] = [
      [["--server", "python3 server.py"], /cannot govern "python3"/],
      [
        ["--server", "npx -y @modelcontextprotocol/server-filesystem /data"],
        /npm:@modelcontextprotocol\/server-filesystem is not pinned in .*deno\.json: add it first/,
      ],
      [["--server", "deno run 'unterminated"], /--server: unterminated ' quote/],
      [["--server", join(dir, "missing.ts")], /agent module not found/],
      [["--server", NOTES, "--policy", bad], /bad\.yaml:6:\d+: /],
      [["--server", NOTES, "--env", "LD_PRELOAD=/x.so"], /LD_PRELOAD steers/],
      // A bad flag value is a usage error: exit 2 (issue 18's exit-code table).
      [["--server", NOTES, "--ring", "9"], /--ring: expected an integer 0-3/],
    ];
    for (const [args, want] of cases) {
      const r = await gateway(args);
      assertEquals(r.code, args.includes("--ring") ? 2 : 1, `${args.join(" ")}: ${r.stderr}`);
      assertMatch(r.stderr, want);
      assert(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
      assertEquals(r.stdout, "", "stdout carries MCP messages only");
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
