/**
 * Install, don't bundle (issue 19), for the MCP gateway's local servers: `node ./x/dist/index.js`
 * runs in place from its package directory, as `deno task run` runs a local agent — its own
 * `package.json` and data files next to its modules are there, its own `node_modules` gives
 * its dependency versions (zod 3 under Warden's zod 4), its sloppy-mode CommonJS runs as Node
 * runs it, and its agent name is its package's name, not "index". Under `--bundle` the same
 * server becomes one strict-mode ES module and fails with one line naming why.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { parseServerCommand } from "../../runtime/mcp/command.ts";
import { policyOf, session, text } from "./helpers.ts";

const FIXTURE = new URL("../fixtures/compat_pkg_server/", import.meta.url).pathname;
const POLICY = policyOf(`apiVersion: warden/v1
kind: Policy
name: local-server
default: deny
rules:
  - { id: about, effect: allow, action: tool.call, resource: about }
`);

/** A copy of the fixture package with its own node_modules (a zod 3 of its own). */
function localPackage(): { tmp: string; entry: string; ws: string } {
  const tmp = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-local-server-" }));
  const pkg = join(tmp, "compat-pkg-server");
  new Deno.Command("cp", { args: ["-r", FIXTURE, pkg] }).outputSync();
  const zod = join(pkg, "node_modules", "zod");
  Deno.mkdirSync(zod, { recursive: true });
  Deno.writeTextFileSync(
    join(zod, "package.json"),
    JSON.stringify({ name: "zod", version: "3.23.8", main: "index.js" }),
  );
  Deno.writeTextFileSync(join(zod, "index.js"), "exports.z = {};\n");
  const ws = join(tmp, "ws");
  Deno.mkdirSync(ws);
  return { tmp, entry: join(pkg, "dist", "index.js"), ws };
}

Deno.test({
  name: "a local Node server runs in place: its package files, its own deps, sloppy CommonJS",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { tmp, entry, ws } = localPackage();
    const cmd = parseServerCommand(`node --no-warnings ${entry}`);
    const s = await session({ module: cmd.module, args: cmd.args, workspace: ws }, {
      policy: POLICY,
    });
    try {
      assertEquals(s.gw.handle.name, "compat-pkg-server", "named by its package, not index");
      const tools = await s.client.listTools();
      assertEquals(tools.tools.map((t: { name: string }) => t.name), ["about"]);
      const r = await s.client.callTool({ name: "about", arguments: {} });
      const about = JSON.parse(text(r));
      assertEquals(about.name, "compat-pkg-server", s.notices.join("\n"));
      assertEquals(about.version, "1.4.2");
      assertEquals(about.greeting, "hello from the data directory");
      assertEquals(about.zod, "3.23.8", "its own node_modules, not Warden's zod 4");
      assertEquals(about.callee, "about");
      assert(about.requests >= 3, "the implicit global counts requests");
    } finally {
      await s.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "the same server under bundle: true fails in one line naming the strict-mode bundle",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { tmp, entry, ws } = localPackage();
    // The bundler reads the whole package: a rule must allow that (deny by default).
    const policy = policyOf(`apiVersion: warden/v1
kind: Policy
name: local-server-bundle
default: deny
rules:
  - { id: pkg, effect: allow, action: [import, fs.read], when: { path: { within: ["${tmp}"] } } }
`);
    try {
      let error = "";
      await session({ module: entry, workspace: ws, bundle: true }, { policy }).then(
        (s) => s.close(),
        (e) => (error = (e as Error).message),
      );
      assert(!error.includes("\n"), `one line: ${error}`);
      assert(error.includes("exited during the handshake"), error);
      assert(error.includes("ReferenceError: requests is not defined"), error);
      assert(error.includes("strict-mode ES module"), error);
      assert(error.includes("without --bundle"), error);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "bundling a local package is decided once for its directory, denied by default",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { tmp, entry, ws } = localPackage();
    try {
      let error = "";
      await session({ module: entry, workspace: ws, bundle: true }, { policy: POLICY }).then(
        (s) => s.close(),
        (e) => (error = (e as Error).message),
      );
      assert(!error.includes("\n"), `one line: ${error}`);
      assert(/bundling .* refused: the bundler reads the whole package/.test(error), error);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "a workspace inside the local package is refused (it could rewrite its code)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { tmp, entry } = localPackage();
    const inside = join(tmp, "compat-pkg-server", "ws");
    Deno.mkdirSync(inside);
    try {
      let error = "";
      await session({ module: entry, workspace: inside }, { policy: POLICY }).then(
        (s) => s.close(),
        (e) => (error = (e as Error).message),
      );
      assert(/lies in its package/.test(error), error);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: `deno task mcp-gateway --server "node …/dist/index.js" serves it under its package name`,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { tmp, entry } = localPackage();
    const policy = join(tmp, "policy.yaml");
    Deno.writeTextFileSync(
      policy,
      `apiVersion: warden/v1
kind: Policy
name: local-server
default: deny
rules:
  - { id: about, effect: allow, action: tool.call, resource: about }
`,
    );
    const transport = new StdioClientTransport({
      command: Deno.execPath(),
      args: ["task", "--quiet", "mcp-gateway", "--server", `node ${entry}`, "--policy", policy],
      cwd: new URL("../../", import.meta.url).pathname,
      stderr: "pipe",
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "",
        WARDEN_HOME: join(tmp, "home"),
        NO_COLOR: "1",
      },
    });
    let err = "";
    transport.stderr?.on("data", (b: Uint8Array) => (err += new TextDecoder().decode(b)));
    const client = new Client({ name: "cli-test", version: "1.0.0" });
    try {
      await client.connect(transport);
      const r = await client.callTool({ name: "about", arguments: {} });
      assertEquals(JSON.parse(text(r)).zod, "3.23.8", err);
      assert(/serving compat-pkg-server \(pid \d+, ring 2\)/.test(err), err);
    } finally {
      await client.close().catch(() => {});
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
