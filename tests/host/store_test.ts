/**
 * The package store (issue 19): npm agents and MCP servers are installed once, read-only, with
 * their own files and dependency versions, and run from there through the gateway.
 */
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { assertEquals } from "../policy/asserts.ts";
import { installPackage, packageEntry, parseNpmSpec } from "../../runtime/supervisor/store.ts";
import { McpGateway } from "../../runtime/mcp/gateway.ts";
import { loadPolicy } from "../../runtime/policy/loader.ts";
import { newHost } from "./helpers.ts";
import { STORE_SERVER } from "../bench/mcp_bench.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function throws(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    if (!re.test((e as Error).message)) throw new Error(`wrong error: ${(e as Error).message}`);
    return;
  }
  throw new Error(`expected an error matching ${re}`);
}

Deno.test("store: specs need an exact version and cannot climb out of the package", () => {
  assertEquals(parseNpmSpec("npm:@scope/pkg@1.2.3"), { name: "@scope/pkg", version: "1.2.3" });
  assertEquals(parseNpmSpec("npm:pkg@1.2.3-rc.1/bin/x.js"), {
    name: "pkg",
    version: "1.2.3-rc.1",
    sub: "bin/x.js",
  });
  for (const bad of ["npm:pkg", "npm:pkg@^1.2.3", "npm:pkg@latest", "npm:pkg@1.2", "pkg@1.2.3"]) {
    throws(() => parseNpmSpec(bad), /exact version/);
  }
  throws(() => parseNpmSpec("npm:pkg@1.2.3/../../etc/passwd"), /"\.\."/);
  throws(() => parseNpmSpec("npm:pkg@1.2.3/a b"), /exact version/);
});

Deno.test("store: a package's entry is its bin or main, and never leaves the package", () => {
  const dir = Deno.makeTempDirSync({ prefix: "warden-entry-" });
  try {
    const write = (manifest: unknown, files: string[] = []) => {
      Deno.writeTextFileSync(join(dir, "package.json"), JSON.stringify(manifest));
      for (const f of files) {
        Deno.mkdirSync(join(dir, f, ".."), { recursive: true });
        Deno.writeTextFileSync(join(dir, f), "");
      }
    };
    write({ bin: "dist/cli.js" }, ["dist/cli.js"]);
    assertEquals(packageEntry(dir, "pkg"), join(dir, "dist/cli.js"));
    write({ bin: { other: "a.js", pkg: "b.js" } }, ["a.js", "b.js"]);
    assertEquals(packageEntry(dir, "@s/pkg"), join(dir, "b.js"));
    write({ bin: { one: "a.js", two: "b.js" } });
    throws(() => packageEntry(dir, "pkg"), /several programs \(one, two\)/);
    write({ exports: { ".": { import: "./m.mjs" } } }, ["m.mjs"]);
    assertEquals(packageEntry(dir, "pkg"), join(dir, "m.mjs"));
    write({ bin: "../../../etc/passwd" });
    throws(() => packageEntry(dir, "pkg"), /leaves the package/);
    write({ main: "missing.js" });
    throws(() => packageEntry(dir, "pkg"), /not in the package/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("store: a real npm MCP server installs once, read-only, and serves through the gateway", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "warden-store-" });
  const store = join(tmp, "store");
  try {
    const first = await installPackage(STORE_SERVER, { dir: store, deno: Deno.execPath() });
    assertEquals(first.entry.startsWith(first.root + "/node_modules/"), true, first.entry);
    // Installed read-only (agents get it read-only from the kernel rules as well).
    const mode = (p: string) => Deno.statSync(join(first.root, p)).mode! & 0o777;
    assertEquals([mode("node_modules/zod/package.json"), mode("node_modules/zod")], [0o444, 0o555]);
    // An index pointing outside the store is not trusted: it is installed again (here: the
    // bogus deno fails, so nothing from /tmp/elsewhere is ever run).
    const index = join(store, "@modelcontextprotocol+server-sequential-thinking@2026.8.31.json");
    const good = Deno.readTextFileSync(index);
    const elsewhere = Deno.makeTempDirSync({ dir: tmp });
    Deno.writeTextFileSync(join(elsewhere, "deno.lock"), "{}");
    Deno.writeTextFileSync(index, JSON.stringify({ ...JSON.parse(good), dir: elsewhere }));
    const refused = await installPackage(STORE_SERVER, { dir: store, deno: "/nonexistent/deno" })
      .then(() => "used", (e) => String(e));
    assertEquals(refused.includes("cannot install"), true, refused);
    Deno.writeTextFileSync(index, good);
    // Reused without installing again (no deno to run: the store answers from its index).
    const again = await installPackage(STORE_SERVER, { dir: store, deno: "/nonexistent/deno" });
    assertEquals([again.root, again.entry, again.digest], [first.root, first.entry, first.digest]);

    const policyFile = join(tmp, "p.yaml");
    Deno.writeTextFileSync(
      policyFile,
      [
        "apiVersion: warden/v1",
        "kind: Policy",
        "name: store-test",
        "rules:",
        "  - id: think",
        "    effect: allow",
        "    action: tool.call",
        "    resource: sequentialthinking",
        "    when: { args.totalThoughts: { lte: 3 } }",
        "",
      ].join("\n"),
    );
    const host = newHost({
      policy: loadPolicy([join(ROOT, "policies/agents.yaml"), policyFile], { builtin: true }),
      storeDir: store,
    });
    try {
      const gw = await McpGateway.start({ host, server: { module: STORE_SERVER } });
      const [a, b] = InMemoryTransport.createLinkedPair();
      await gw.serve(b);
      const client = new Client({ name: "store-test", version: "1.0.0" });
      await client.connect(a);
      // It read its own package.json for its version: the file is there, as published.
      assertEquals(client.getServerVersion()?.version, "2026.8.31");
      const tools = (await client.listTools()).tools.map((t: { name: string }) => t.name);
      assertEquals(tools, ["sequentialthinking"]);
      const step = {
        thought: "one",
        nextThoughtNeeded: false,
        thoughtNumber: 1,
        totalThoughts: 1,
      };
      const ok = await client.callTool({ name: "sequentialthinking", arguments: step });
      assertEquals(ok.isError, undefined, JSON.stringify(ok));
      const no = await client.callTool({
        name: "sequentialthinking",
        arguments: { ...step, totalThoughts: 50 },
      });
      assertEquals(no.isError, true);
      await client.close();
      await gw.close();
      // The session's end is a stop, not a kill for cause: no trust penalty for the server.
      const ends = host.audit.recent.filter((e) =>
        e.action.startsWith("agent.") && e.path === "host"
      )
        .map((e) => `${e.action} ${e.effect}`);
      assertEquals(ends.includes("agent.stop allow") && !ends.includes("agent.kill deny"), true);
      const start = host.audit.recent.find((e) => e.action === "agent.start");
      assertEquals(String(start?.resource).startsWith(first.root), true, start?.resource);
    } finally {
      await host.close();
    }
  } finally {
    new Deno.Command("chmod", { args: ["-R", "u+w", tmp] }).outputSync();
    Deno.removeSync(tmp, { recursive: true });
  }
});
