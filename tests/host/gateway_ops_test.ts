/**
 * The SDK op table, driven without a socket: it has exactly the ops of the wire's result
 * schemas; an op the governor denies is never run (and a denied `tool.call` never reaches its
 * tool); and the reply each op produces passes that op's result schema.
 */
import { z } from "zod";
import { assert, assertEquals } from "../policy/asserts.ts";
import { compilePolicy } from "../../governance/mod.ts";
import { signerFromKeyPair } from "../../governance/identity/mod.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { ToolRunner } from "../../runtime/executors/runner.ts";
import { type AgentRef, Governor } from "../../runtime/governor.ts";
import { MessageRouter } from "../../runtime/messages/router.ts";
import { PluginChannel } from "../../runtime/plugins/channel.ts";
import { GovernedEnv } from "../../runtime/rl/env.ts";
import { MemoryService } from "../../runtime/memory/service.ts";
import { MemorySagaJournal } from "../../runtime/saga/journal.ts";
import { SagaOrchestrator } from "../../runtime/saga/orchestrator.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import {
  type OpContext,
  RefusalError,
  runOp,
  SDK_OPS,
  type SdkOpEntry,
  type SdkOpTable,
} from "../../runtime/gateway/ops.ts";
import { type SdkOp, SdkRequest, SdkResults } from "../../sdk/wire_schema.ts";
import { reportTask } from "../../examples/rl/env.ts";

function governor(effect: "allow" | "deny"): Governor {
  const policy = compilePolicy(
    `apiVersion: warden/v1\nkind: Policy\nname: ops-${effect}\ndefault: ${effect}\nrules: []\n`,
  );
  return new Governor(policy, loadRings(), new AuditLog());
}

/** A context with every host service, over a fresh workspace; `ran` lists the tools run. */
async function context(effect: "allow" | "deny") {
  const workspace = await Deno.realPath(await Deno.makeTempDir());
  await Deno.writeTextFile(`${workspace}/in.txt`, "hello");
  const signer = await signerFromKeyPair(
    await crypto.subtle.generateKey("Ed25519", false, ["sign", "verify"]) as CryptoKeyPair,
  );
  const agent: AgentRef = {
    id: signer.did,
    name: "ops",
    ring: 1,
    trust: 900,
    labels: {},
    workspace,
    code: workspace,
    sdk: workspace,
  };
  const g = governor(effect);
  const ran: string[] = [];
  const tools = new ToolRegistry().register("noop", {
    description: "",
    schema: z.object({}),
    run: () => {
      ran.push("noop");
      return "ok";
    },
  });
  const router = new MessageRouter(g);
  router.register(agent);
  const plugin = new PluginChannel("p");
  const events: unknown[] = [];
  const abort = new AbortController();
  const ctx: OpContext = {
    agent,
    governor: g,
    env: { HOME: "/home/ops" },
    runner: new ToolRunner({ governor: g, tools, approvals: () => undefined }),
    signal: abort.signal,
    onEvent: (e) => events.push(e),
    messages: { router, signer },
    sagas: new SagaOrchestrator({
      journal: new MemorySagaJournal(),
      governor: g,
      execute: (_a, tool) => {
        ran.push(`saga:${tool}`);
        return Promise.resolve(null);
      },
    }),
    plugin,
    environment: new GovernedEnv(reportTask as never, g),
    memory: new MemoryService(g, workspace, { path: `${workspace}/.memory/memory.db` }),
  };
  const done = async () => {
    abort.abort();
    ctx.memory?.close();
    await Deno.remove(workspace, { recursive: true });
  };
  return { ctx, ran, events, plugin, done };
}

/** One valid request per op (the rl ops in order: reset before step). */
function requests(to: string, url: string): SdkRequest[] {
  const raw: Record<SdkOp, Record<string, unknown>> = {
    "tool.call": { name: "noop" },
    "tool.authorize": { name: "worker-tool", args: { a: 1 } },
    "fs.readText": { path: "in.txt" },
    "fs.writeText": { path: "out.txt", text: "x" },
    "http.fetch": { url },
    "env.get": { name: "HOME" },
    "messages.send": { to, payload: { hi: 1 } },
    "messages.receive": { timeoutMs: 1000 },
    identity: {},
    "saga.run": {
      definition: {
        name: "s",
        steps: [{
          name: "one",
          action: { tool: "noop", args: {} },
          compensation: { tool: "noop", args: {} },
        }],
      },
    },
    "rl.reset": {},
    "rl.step": { action: reportTask.actions[0] },
    "plugin.next": { timeoutMs: 1000 },
    "plugin.result": { callId: 1, ok: true, result: null },
    "memory.put": { key: "k", value: { a: 1 }, tags: ["t"] },
    "memory.get": { key: "k" },
    "memory.list": { prefix: "" },
    "memory.search": { text: "a" },
    "memory.delete": { key: "k" },
    emit: { output: { done: true } },
    log: { message: "hi" },
  };
  return Object.entries(raw).map(([op, body], id) =>
    SdkRequest.parse({ id, op, ...body }) as SdkRequest
  );
}

Deno.test("the op table has exactly the ops of the wire's result schemas", () => {
  assertEquals(Object.keys(SDK_OPS).sort(), Object.keys(SdkResults).sort());
  const ops = SdkRequest.options.map((o) => o.shape.op.value as string).sort();
  assertEquals(Object.keys(SDK_OPS).sort(), ops);
});

Deno.test("an op the governor denies is never run; a denied tool.call never reaches its tool", async () => {
  const { ctx, ran, events, done } = await context("deny");
  try {
    const runs: string[] = [];
    const spied = Object.fromEntries(
      Object.entries(SDK_OPS).map(([op, e]) => {
        const entry = e as SdkOpEntry<SdkOp>;
        return [op, {
          ...entry,
          run: (req: never, c: OpContext, ask: never) => {
            runs.push(op);
            return entry.run(req, c, ask);
          },
        }];
      }),
    ) as unknown as SdkOpTable;
    const denied: string[] = [];
    for (const req of requests(ctx.agent.id, "http://127.0.0.1:9/")) {
      const decides = SDK_OPS[req.op].ask(req as never, ctx) !== null;
      let refused: unknown = null;
      try {
        await runOp(req, ctx, spied);
      } catch (e) {
        refused = e;
      }
      if ((refused as { code?: string } | null)?.code === "denied") denied.push(req.op);
      if (decides) {
        assert(refused instanceof RefusalError, `${req.op} was not refused`);
        assert(!runs.includes(req.op), `${req.op} ran although denied`);
      }
    }
    assertEquals(denied.sort(), [
      "emit",
      "env.get",
      "fs.readText",
      "fs.writeText",
      "http.fetch",
      "log",
      "memory.delete",
      "memory.get",
      "memory.list",
      "memory.put",
      "memory.search",
      "messages.receive",
      "messages.send",
      "saga.run",
      "tool.authorize",
      "tool.call",
    ]);
    assertEquals(ran, [], "no tool and no saga step ran");
    assertEquals(events, [], "nothing was emitted or logged");
    assert(!(await exists(`${ctx.agent.workspace}/out.txt`)), "nothing was written");
  } finally {
    await done();
  }
});

Deno.test("the reply each op produces passes its result schema", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("pong"),
  );
  const { ctx, ran, plugin, done } = await context("allow");
  try {
    const url = `http://127.0.0.1:${server.addr.port}/`;
    // A call waiting for the plugin, so that plugin.next has one to hand out (callId 1).
    const pending = plugin.call("t", {}, ctx.signal).catch(() => null);
    // messages.send (to this agent itself) leaves the message messages.receive then takes.
    for (const req of requests(ctx.agent.id, url)) {
      const result = (await runOp(req, ctx)) ?? null;
      const check = SdkResults[req.op].safeParse(result);
      assert(check.success, `${req.op}: ${JSON.stringify(result)} fails its result schema`);
    }
    await pending;
    assertEquals(ran, ["noop", "saga:noop"]);
    assertEquals(await Deno.readTextFile(`${ctx.agent.workspace}/out.txt`), "x");
  } finally {
    await done();
    await server.shutdown();
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
