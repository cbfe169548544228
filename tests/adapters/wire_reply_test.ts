/**
 * The SDK checks every reply of the host against the op's response schema: a reply of the wrong
 * shape is a WardenError `invalid`, never a value cast to what the caller expects. A fake host
 * on a unix socket answers each request with what the test scripted.
 */
import { join } from "node:path";
import { attach } from "../../sdk/channel.ts";
import { encodeFrame, FrameDecoder } from "../../sdk/frames.ts";
import { env, fs, http, identity, messages, rl, sagas, tools, WardenError } from "../../sdk/mod.ts";
import { refusalProblem, resultProblem } from "../../sdk/replies.ts";
import { Refusal, type SdkOp, SdkResults } from "../../sdk/wire_schema.ts";
import fc from "fast-check";
import { assert, assertEquals } from "../policy/asserts.ts";

type Answer = (req: { id: number; op: string }) => unknown;
const answers: Answer[] = [];

const dir = Deno.makeTempDirSync();
const path = join(dir, "s.sock");
const listener = Deno.listen({ transport: "unix", path });
const serving = (async () => {
  const conn = await listener.accept();
  const dec = new FrameDecoder(1 << 20);
  const buf = new Uint8Array(65536);
  while (true) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    for (const ev of dec.push(buf.subarray(0, n))) {
      if (ev.kind !== "frame") continue;
      const req = ev.value as { id: number; op: string };
      const answer = answers.shift();
      const frame = answer ? answer(req) : { id: req.id, ok: true, result: null };
      await conn.write(encodeFrame(frame));
    }
  }
})();
attach(await Deno.connect({ transport: "unix", path }));

const ok = (result: unknown): Answer => (req) => ({ id: req.id, ok: true, result });

async function refusedWith(call: () => Promise<unknown>, answer: Answer): Promise<WardenError> {
  answers.push(answer);
  try {
    const v = await call();
    throw new Error(`accepted ${JSON.stringify(v)}`);
  } catch (e) {
    assert(e instanceof WardenError, String(e));
    return e;
  }
}

Deno.test("sdk: a reply of the wrong shape is a WardenError invalid, for every op", async () => {
  const cases: [string, () => Promise<unknown>, unknown][] = [
    ["fs.readText", () => fs.readText("a"), 42],
    ["fs.readText", () => fs.readText("a"), null],
    ["env.get", () => env.get("A"), { value: "x" }],
    ["http.fetch", () => http.fetch("https://x/"), { status: "200", headers: {}, body: "" }],
    ["http.fetch", () => http.fetch("https://x/"), {
      status: 200,
      headers: { a: 1 },
      body: "",
      truncated: false,
    }],
    ["identity", () => identity(), { did: 1, name: "n", ring: 2 }],
    ["messages.receive", () => messages.receive(), { from: "did:key:z", payload: 1, ts: "now" }],
    ["saga.run", () => sagas.run({ name: "s", steps: [] }), { id: "s-1", status: "done" }],
    ["rl.reset", () => rl.reset(), { state: 0, actions: "research" }],
    ["rl.step", () => rl.step("a"), { state: 0, reward: "10", done: false, denied: false }],
    ["rl.step", () => rl.step("a"), { state: 0, reward: 1, done: false }],
    ["tool.authorize", () => tools.authorize("t"), { allowed: true }],
    ["fs.writeText", () => fs.writeText("a", "b"), "written"],
  ];
  for (const [op, call, reply] of cases) {
    const e = await refusedWith(call, ok(reply));
    assertEquals(e.code, "invalid", `${op} accepted ${JSON.stringify(reply)}`);
    assert(e.message.includes(op), e.message);
  }
});

Deno.test("sdk: replies of the right shape pass", async () => {
  answers.push(ok("text"));
  assertEquals(await fs.readText("a"), "text");
  answers.push(ok(null));
  assertEquals(await env.get("A"), null);
  answers.push(ok({ status: 200, headers: { a: "b" }, body: "{}", truncated: false }));
  assertEquals((await http.fetch("https://x/")).json(), {});
  answers.push(ok({ did: "did:key:z", name: "n", ring: 2 }));
  assertEquals(await identity(), { did: "did:key:z", name: "n", ring: 2 });
  answers.push(ok({ state: { a: 1 }, reward: -1, done: false, denied: true, reason: "r" }));
  assertEquals((await rl.step("a")).denied, true);
  answers.push(ok({ anything: [1, 2] }));
  assertEquals(await tools.call("t"), { anything: [1, 2] });
});

Deno.test("sdk: a malformed error frame is invalid; a refusal carries the rule's own reason", async () => {
  const weird = await refusedWith(() => tools.call("t"), (req) => ({
    id: req.id,
    ok: false,
    error: { code: "pwned", message: "x" },
  }));
  assertEquals(weird.code, "invalid");
  const envelope = await refusedWith(() => tools.call("t"), (req) => ({ id: req.id, ok: "yes" }));
  assertEquals(envelope.code, "invalid");
  const denied = await refusedWith(() => tools.call("t"), (req) => ({
    id: req.id,
    ok: false,
    error: {
      code: "denied",
      message: 'denied by rule "no-drops": tables are never dropped',
      rule: "no-drops",
      ruleReason: "tables are never dropped",
    },
  }));
  assertEquals([denied.code, denied.rule, denied.ruleReason], [
    "denied",
    "no-drops",
    "tables are never dropped",
  ]);
  const busy = await refusedWith(() => tools.call("t"), (req) => ({
    id: req.id,
    ok: false,
    error: { code: "busy", message: "slow down" },
  }));
  assertEquals([busy.code, busy.rule, busy.ruleReason], ["busy", null, null]);
});

/** A valid result per op, the seed of the mutations below. */
const MEMORY_ENTRY = {
  namespace: "team",
  key: "k",
  value: { a: 1 },
  tags: ["t"],
  provenance: {
    writer: "did:key:z",
    writerName: "w",
    ring: 2,
    trust: 650.5,
    source: { kind: "url", ref: null },
    at: 1,
    sha256: "ab",
  },
  expiresAt: null,
};
const SAMPLES: { [O in SdkOp]: unknown } = {
  "tool.call": { any: "thing" },
  "tool.authorize": null,
  "fs.readText": "text",
  "fs.writeText": null,
  "http.fetch": { status: 200, headers: { a: "b" }, body: "", truncated: false },
  "env.get": "v",
  "messages.send": null,
  "messages.receive": { from: "did:key:z", payload: { a: 1 }, ts: 1, seq: 2 },
  identity: { did: "did:key:z", name: "n", ring: 2 },
  "saga.run": {
    id: "s-1",
    status: "completed",
    reason: null,
    steps: [{ name: "a", status: "done", result: null }],
  },
  "rl.reset": { state: { a: 1 }, actions: ["a", "b"] },
  "rl.step": { state: 0, reward: 1.5, done: false, denied: true, reason: "r" },
  "plugin.next": { callId: 3, tool: "t", args: {}, idempotencyKey: "k" },
  "plugin.result": null,
  "memory.put": { namespace: "n", key: "k", sha256: "ab", quarantined: false },
  "memory.get": MEMORY_ENTRY,
  "memory.list": [MEMORY_ENTRY],
  "memory.search": [],
  "memory.delete": true,
  emit: null,
  log: null,
};
const ODD = [null, 0, -1, 1.5, "s", "", true, [], {}, ["x"], { k: 1 }, "completed", "denied"];

/** The value, each field dropped or replaced by an odd value, an extra field, recursively. */
function mutants(v: unknown, depth = 3): unknown[] {
  const out: unknown[] = [v, ...ODD];
  if (depth === 0 || v === null || typeof v !== "object") return out;
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      for (const m of mutants(x, depth - 1)) out.push(v.map((y, j) => (j === i ? m : y)));
    }
    return out;
  }
  const o = v as Record<string, unknown>;
  out.push({ ...o, extra: 1 });
  for (const k of Object.keys(o)) {
    const { [k]: _, ...rest } = o;
    out.push(rest);
    for (const m of mutants(o[k], depth - 1)) out.push({ ...o, [k]: m });
  }
  return out;
}

Deno.test("sdk: the agent-side reply checks accept exactly what the zod schemas accept", () => {
  const agree = (what: string, check: string | null, zodOk: boolean, v: unknown) =>
    assertEquals(check === null, zodOk, `${what}: ${JSON.stringify(v)} (${check})`);
  for (const op of Object.keys(SAMPLES) as SdkOp[]) {
    for (const v of mutants(SAMPLES[op])) {
      agree(op, resultProblem(op, v), SdkResults[op].safeParse(v).success, v);
    }
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        agree(op, resultProblem(op, v), SdkResults[op].safeParse(v).success, v);
      }),
      { numRuns: 200 },
    );
  }
  const refusal = { code: "denied", message: "m", rule: "r", ruleReason: "why" };
  for (const v of mutants(refusal)) {
    agree("refusal", refusalProblem(v), Refusal.safeParse(v).success, v);
  }
});

Deno.test({
  name: "sdk: (cleanup) close the fake host",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    listener.close();
    await Promise.race([serving, new Promise((r) => setTimeout(r, 100))]);
    Deno.removeSync(dir, { recursive: true });
  },
});
