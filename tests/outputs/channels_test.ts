/**
 * Output rules on every SDK channel, through the op table the gateway runs: `emit`, `log`,
 * a tool result coming back, and an `http.fetch` to an allowed host (the body that reaches
 * the server is the redacted one; a secret in the URL is never sent). Each match is audited
 * as `output.check` with the rule and a SHA-256, never the secret.
 */
import { z } from "zod";
import { assert, assertEquals } from "../policy/asserts.ts";
import { compilePolicy } from "../../governance/mod.ts";
import { attachOutputRules, compileOutputRules } from "../../governance/outputs/mod.ts";
import { sha256Hex } from "../../governance/audit/sha256.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { ToolRunner } from "../../runtime/executors/runner.ts";
import { type AgentRef, Governor } from "../../runtime/governor.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { MemorySagaJournal } from "../../runtime/saga/journal.ts";
import { SagaOrchestrator } from "../../runtime/saga/orchestrator.ts";
import { type OpContext, RefusalError, runOp } from "../../runtime/gateway/ops.ts";
import type { SdkRequest } from "../../sdk/wire_schema.ts";

const TOKEN = "ghp_" + "k7Yq2".repeat(8);

const POLICY = `apiVersion: warden/v1
kind: Policy
name: outputs-channels
default: allow
outputs:
  dlp:
    - id: no-credentials
      builtin: [tokens, cloud, private_key]
      effect: redact
    - id: no-codename
      pattern: 'project-(?:zeus|hera)'
      effect: deny
      on: [emit, http.request]
`;

function setup(text = POLICY) {
  const audit: Record<string, unknown>[] = [];
  const log = new AuditLog();
  log.subscribe((e) => audit.push(e as unknown as Record<string, unknown>));
  const policy = attachOutputRules(
    compilePolicy(text, { path: "p.yaml" }),
    compileOutputRules([{ text, path: "p.yaml" }]),
  );
  const g = new Governor(policy, loadRings(), log);
  const agent: AgentRef = {
    id: "did:key:z6MkOutputs",
    name: "outputs",
    ring: 1,
    trust: 900,
    labels: {},
    workspace: "/tmp",
    code: "/tmp",
    sdk: "/tmp",
  };
  const tools = new ToolRegistry().register("lookup", {
    description: "",
    schema: z.object({}),
    run: () => ({ rows: [{ owner: "ci", credential: TOKEN }] }),
  });
  const events: Record<string, unknown>[] = [];
  const ctx: OpContext = {
    agent,
    governor: g,
    env: {},
    runner: new ToolRunner({ governor: g, tools, approvals: () => undefined }),
    signal: new AbortController().signal,
    onEvent: (e) => events.push(e as Record<string, unknown>),
    sagas: new SagaOrchestrator({
      journal: new MemorySagaJournal(),
      governor: g,
      execute: () => Promise.resolve({ credential: TOKEN }),
    }),
  };
  const op = (r: Record<string, unknown>) => runOp({ id: 1, ...r } as SdkRequest, ctx);
  return { audit, events, op };
}

async function refusal(p: Promise<unknown>): Promise<RefusalError> {
  try {
    await p;
  } catch (e) {
    assert(e instanceof RefusalError, String(e));
    return e;
  }
  throw new Error("not refused");
}

Deno.test("emit: the redacted form is what leaves, and the match is audited by hash", async () => {
  const { audit, events, op } = setup();
  await op({ op: "emit", output: { summary: "done", key: TOKEN } });
  assertEquals(events[0].output, { summary: "done", key: "[redacted:no-credentials]" });
  const check = audit.find((e) => e.action === "output.check")!;
  assertEquals([check.rule, check.outcome, check.resource], [
    "no-credentials",
    "redact",
    "emit:output",
  ]);
  const f = (check.findings as Record<string, unknown>[])[0];
  assertEquals([f.detector, f.path, f.sha256], ["github_token", "$.key", sha256Hex(TOKEN)]);
  assert(!JSON.stringify(audit).includes(TOKEN), "the secret is in the audit log");
});

Deno.test("emit: a deny rule refuses the output; nothing is emitted", async () => {
  const { audit, events, op } = setup();
  const e = await refusal(op({ op: "emit", output: "status of project-zeus" }));
  assertEquals([e.code, e.rule], ["denied", "no-codename"]);
  assertEquals(events, []);
  assertEquals(audit.find((x) => x.action === "output.check")?.effect, "deny");
});

Deno.test("log: redacted before it reaches the operator", async () => {
  const { events, op } = setup();
  await op({ op: "log", level: "info", message: `using ${TOKEN}` });
  assertEquals(events[0].message, "using [redacted:no-credentials]");
});

Deno.test("a tool result returned to the agent is redacted", async () => {
  const { audit, op } = setup();
  const r = await op({ op: "tool.call", name: "lookup", args: {} });
  assertEquals(r, { rows: [{ owner: "ci", credential: "[redacted:no-credentials]" }] });
  assertEquals(audit.find((x) => x.action === "output.check")?.resource, "tool.result:lookup");
});

Deno.test("a saga's step results returned to the agent are redacted", async () => {
  const { op } = setup();
  const step = { tool: "lookup", args: {} };
  const r = await op({
    op: "saga.run",
    definition: { name: "s", steps: [{ name: "one", action: step, compensation: step }] },
  }) as { steps: { result: unknown }[] };
  assertEquals(r.steps[0].result, { credential: "[redacted:no-credentials]" });
});

Deno.test("http.fetch to an allowed host: the body is redacted; a secret in the URL is not sent", async () => {
  const seen: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    seen.push(`${new URL(req.url).search} ${await req.text()}`);
    return new Response("ok");
  });
  try {
    const base = `http://127.0.0.1:${server.addr.port}/`;
    const { op } = setup();
    await op({ op: "http.fetch", url: base, method: "POST", headers: {}, body: `k=${TOKEN}` });
    assertEquals(seen, [" k=[redacted:no-credentials]"]);
    const e = await refusal(
      op({ op: "http.fetch", url: `${base}?k=${TOKEN}`, method: "GET", headers: {} }),
    );
    assertEquals(e.code, "denied");
    const d = await refusal(
      op({ op: "http.fetch", url: base, method: "POST", headers: {}, body: "project-hera" }),
    );
    assertEquals(d.rule, "no-codename");
    assertEquals(seen.length, 1, "a refused request reached the server");
  } finally {
    await server.shutdown();
  }
});

Deno.test("a policy without outputs: leaves every channel unchanged and audits nothing", async () => {
  const { audit, events, op } = setup(
    "apiVersion: warden/v1\nkind: Policy\nname: plain\ndefault: allow\nrules: []\n",
  );
  await op({ op: "emit", output: TOKEN });
  assertEquals(events[0].output, TOKEN);
  assert(!audit.some((e) => e.action === "output.check"));
});
