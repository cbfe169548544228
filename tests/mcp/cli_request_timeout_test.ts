/**
 * `deno task mcp-gateway --request-timeout MS`, end to end with the SDK's stdio client: a
 * forwarded request ends at the timeout with one error prefix, progress resets it, and a bad
 * value is one usage line (exit 2).
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertRejects } from "../policy/asserts.ts";
import { SERVERS, text } from "./helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const DENO = Deno.execPath();
const REVERSE = join(SERVERS, "reverse.ts");
const POLICY = `apiVersion: warden/v1
kind: Policy
name: reverse
default: deny
rules:
  - { id: tools, effect: allow, action: tool.call }
`;

function env(home: string): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "",
    WARDEN_HOME: home,
    NO_COLOR: "1",
  };
}

Deno.test("--request-timeout bounds forwarded requests; progress resets it", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "warden-mcp-timeout-" });
  const policy = join(dir, "policy.yaml");
  Deno.writeTextFileSync(policy, POLICY);
  const transport = new StdioClientTransport({
    command: DENO,
    args: [
      "task",
      "--quiet",
      "mcp-gateway",
      "--server",
      REVERSE,
      "--policy",
      policy,
      "--request-timeout",
      "1500",
    ],
    cwd: ROOT,
    stderr: "pipe",
    env: env(dir),
  });
  const client = new Client({ name: "cli-timeout-test", version: "1.0.0" });
  try {
    await client.connect(transport);
    const opts = { timeout: 120_000, resetTimeoutOnProgress: true, onprogress: () => {} };
    // 12 steps of 150 ms with progress: longer than the timeout, kept alive by progress.
    const done = await client.callTool(
      { name: "slow", arguments: { steps: 12, progress: true } },
      undefined,
      opts,
    );
    assertEquals(JSON.parse(text(done)), "done");
    // No progress: at least 3 s of work against 1.5 s allowed.
    const err = await assertRejects(() =>
      client.callTool({ name: "slow", arguments: { steps: 20, progress: false } }, undefined, opts)
    );
    assertMatch(err.message, /^MCP error -32001: Request timed out$/);
  } finally {
    await client.close().catch(() => {});
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a bad --request-timeout is one usage line", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "warden-mcp-timeout-" });
  try {
    for (const v of ["0", "abc", "-5", "1e3"]) {
      const out = await new Deno.Command(DENO, {
        args: ["task", "--quiet", "mcp-gateway", "--server", REVERSE, `--request-timeout=${v}`],
        cwd: ROOT,
        env: env(dir),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 2, stderr);
      assertMatch(stderr, /--request-timeout: expected an integer 1-/);
      assert(!/\n\s+at /.test(stderr), `no stack trace: ${stderr}`);
      assertEquals(out.stdout.length, 0);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
