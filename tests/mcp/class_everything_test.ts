/**
 * Issue 19's "MCP protocol features are dropped by the gateway" classes, against the real
 * reference server they were seen with (`@modelcontextprotocol/server-everything`, unmodified,
 * from the package store at ring 2), driven by the official SDK client:
 * - its tools that exist only for clients declaring roots, sampling or elicitation are listed
 *   (they disappeared when the gateway dropped the client's capabilities);
 * - its server→client requests (sampling, elicitation, roots) are forwarded and decided, a
 *   refused one never reaches the client;
 * - its `title` and `instructions` (read from a file in its package) reach the client;
 * - `resources/subscribe` is decided and its update notifications reach the client;
 * - its task-based tool (`simulate-research-query`, task support "required") is callable.
 */
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import {
  CallToolResultSchema,
  type CreateMessageRequest,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  type ResourceUpdatedNotification,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { assert, assertEquals, assertMatch } from "../policy/asserts.ts";
import { AgentHost } from "../../runtime/host.ts";
import { McpGateway } from "../../runtime/mcp/gateway.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { policyOf, text } from "./helpers.ts";

const SERVER = "npm:@modelcontextprotocol/server-everything@2026.8.31";
const POLICY = policyOf(`apiVersion: warden/v1
kind: Policy
name: everything-class
default: deny
rules:
  - id: tools
    effect: allow
    action: tool.call
    resource: [echo, get-roots-list, trigger-sampling-request, trigger-elicitation-request,
      simulate-research-query, toggle-subscriber-updates]
    when: { context.path: { eq: mcp } }
  - { id: sampling, effect: allow, action: mcp.sampling }
  - id: small-sampling
    effect: deny
    action: mcp.sampling
    reason: at most 200 tokens
    when: { args.maxTokens: { gt: 200 } }
  - { id: elicit, effect: allow, action: mcp.elicitation }
  - { id: roots, effect: allow, action: mcp.roots }
  - { id: reads, effect: allow, action: mcp.resource.read }
`);

Deno.test({
  name:
    "class: server-everything's capability tools, reverse requests, subscriptions and tasks work through the gateway",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tmp = Deno.makeTempDirSync({ prefix: "warden-class-everything-" });
    const host = new AgentHost({
      policy: POLICY,
      rings: loadRings(),
      stateDir: join(tmp, "state"),
      storeDir: Deno.env.get("WARDEN_TEST_STORE") ?? join(tmp, "store"),
    });
    const notices: string[] = [];
    const seen = { sampled: [] as string[], elicited: 0, roots: 0, updated: [] as string[] };
    const client = new Client({ name: "class-client", version: "1.0.0" }, {
      capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: { form: {} } },
    });
    client.setRequestHandler(CreateMessageRequestSchema, (req: CreateMessageRequest) => {
      seen.sampled.push(String((req.params.messages[0].content as { text?: string }).text));
      return { role: "assistant", content: { type: "text", text: "scripted model" }, model: "m" };
    });
    client.setRequestHandler(ElicitRequestSchema, () => {
      seen.elicited++;
      return { action: "decline" };
    });
    client.setRequestHandler(ListRootsRequestSchema, () => {
      seen.roots++;
      return { roots: [{ uri: "file:///home/me/class-root", name: "class-root" }] };
    });
    client.setNotificationHandler(
      ResourceUpdatedNotificationSchema,
      (n: ResourceUpdatedNotification) => void seen.updated.push(n.params.uri),
    );
    let gw: McpGateway | undefined;
    try {
      const ws = Deno.makeTempDirSync({ dir: tmp, prefix: "ws-" });
      gw = await McpGateway.start({
        host,
        server: { module: SERVER, workspace: ws, ring: 2 },
        onNotice: (l) => notices.push(l),
      });
      const [a, b] = InMemoryTransport.createLinkedPair();
      await gw.serve(b);
      await client.connect(a);
      const why = () => notices.slice(-20).join("\n");

      // title and instructions (its docs/instructions.md, a file next to its modules).
      assertEquals(client.getServerVersion()?.title, "Everything Reference Server", why());
      assert((client.getInstructions() ?? "").length > 20, "instructions reach the client");

      // The tools registered only for clients with roots, sampling, elicitation, and the task tool.
      const tools = (await client.listTools()).tools.map((t: { name: string }) => t.name);
      for (
        const t of [
          "get-roots-list",
          "trigger-sampling-request",
          "trigger-elicitation-request",
          "simulate-research-query",
        ]
      ) assert(tools.includes(t), `${t} not listed: ${tools.join()}`);

      // Sampling: forwarded and decided with its arguments; a refused one never reaches the client.
      const sampled = await client.callTool({
        name: "trigger-sampling-request",
        arguments: { prompt: "hello model", maxTokens: 50 },
      });
      assertMatch(text(sampled), /scripted model/);
      assertEquals(seen.sampled.length, 1);
      const big = await client.callTool({
        name: "trigger-sampling-request",
        arguments: { prompt: "a long one", maxTokens: 5000 },
      }).then((r: unknown) => text(r), (e: unknown) => String(e));
      assertMatch(big, /denied|small-sampling|200 tokens/i);
      assertEquals(seen.sampled.length, 1, "the refused sampling never reached the client");
      const decided = host.audit.recent.filter((e) => e.action === "mcp.sampling")
        .map((e) => [e.effect, e.rule]);
      assertEquals(decided, [["allow", "sampling"], ["deny", "small-sampling"]]);

      // Elicitation and roots: forwarded to the client, decided and audited.
      const elicited = await client.callTool({
        name: "trigger-elicitation-request",
        arguments: {},
      });
      assertEquals(seen.elicited, 1, text(elicited));
      const roots = await client.callTool({ name: "get-roots-list", arguments: {} });
      assertMatch(text(roots), /class-root/);
      for (const action of ["mcp.elicitation", "mcp.roots"]) {
        assert(
          host.audit.recent.some((e) => e.action === action && e.effect === "allow"),
          `${action} decided and audited`,
        );
      }

      // The task-based tool (task support "required") runs as a task to its report.
      let report = "";
      const stream = client.experimental.tasks.callToolStream(
        { name: "simulate-research-query", arguments: { topic: "governed agents" } },
        CallToolResultSchema,
        { task: { ttl: 120_000 } },
      );
      for await (const m of stream) {
        if (m.type === "result") report = text(m.result);
        if (m.type === "error") report = `error: ${m.error.message}`;
      }
      assertMatch(report, /Research Report: governed agents/, why());

      // resources/subscribe: decided like a read; its updates reach the client.
      const uri = (await client.listResources()).resources[0].uri;
      await client.subscribeResource({ uri });
      assert(
        host.audit.recent.some((e) =>
          e.action === "mcp.resource.read" && e.resource === uri && e.effect === "allow"
        ),
        "the subscription was decided as a read",
      );
      await client.callTool({ name: "toggle-subscriber-updates", arguments: {} });
      // The server sends its updates every 5 s: a generous deadline, no timing asserted.
      for (let i = 0; i < 240 && !seen.updated.includes(uri); i++) {
        await new Promise((r) => setTimeout(r, 250));
      }
      assert(seen.updated.includes(uri), `no update for ${uri}: ${seen.updated.join()}`);
      await client.callTool({ name: "toggle-subscriber-updates", arguments: {} });
    } finally {
      await client.close().catch(() => {});
      await gw?.close();
      await host.close();
      new Deno.Command("chmod", { args: ["-R", "u+w", tmp] }).outputSync();
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});
