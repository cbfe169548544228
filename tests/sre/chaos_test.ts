/** Chaos fault injection (runtime/sre/chaos.ts): faults really happen in the wrapped call. */
import { z } from "zod";
import { type ToolContext, ToolRegistry } from "../../runtime/executors/tools.ts";
import {
  Chaos,
  ChaosConfig,
  ChaosFault,
  resilienceScore,
  seededRandom,
  wrapTool,
} from "../../runtime/sre/chaos.ts";
import { assertEquals } from "../policy/asserts.ts";

function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected the promise to reject");
}

function ctx(signal: AbortSignal, agentId = "did:warden:a1"): ToolContext {
  return { agentId, agentName: "a1", workspace: "/tmp/ws", signal };
}

/** A tool implementation with the ToolRegistry shape. */
const echo = (args: { q: string }, _ctx: ToolContext) => Promise.resolve(`result for ${args.q}`);

Deno.test("config: zod schema with defaults, rejects bad faults", () => {
  const c = ChaosConfig.parse({
    faults: [{ kind: "error", percent: 10 }, { kind: "timeout", percent: 5, timeoutMs: 100 }],
  });
  assertEquals(c.enabled, true);
  assertEquals(c.faults[0], { kind: "error", percent: 10, message: "chaos: injected error" });
  assertEquals(c.faults[1], { kind: "timeout", percent: 5, timeoutMs: 100, overshootMs: 1 });
  assertEquals(ChaosConfig.safeParse({ faults: [{ kind: "error", percent: 101 }] }).success, false);
  assertEquals(ChaosConfig.safeParse({ faults: [{ kind: "latency", percent: 5 }] }).success, false);
  assertEquals(ChaosConfig.safeParse({ faults: [{ kind: "fire", percent: 5 }] }).success, false);
  assertEquals(ChaosConfig.safeParse({ faults: [], extra: 1 }).success, false);
});

Deno.test("no faults configured: the call passes through", async () => {
  const chaos = new Chaos({}, seededRandom(1));
  const run = wrapTool(echo, chaos, { tool: "search" });
  assertEquals(await run({ q: "x" }, ctx(new AbortController().signal)), "result for x");
  assertEquals(chaos.report().calls, 1);
  assertEquals(chaos.report().affectedCalls, 0);
});

Deno.test("latency: the call really takes longer, and still returns the result", async () => {
  const chaos = new Chaos({ faults: [{ kind: "latency", percent: 100, ms: 120 }] });
  const run = wrapTool(echo, chaos, { tool: "search", agent: "did:warden:a1" });
  const t0 = performance.now();
  const out = await run({ q: "slow" }, ctx(new AbortController().signal));
  const elapsed = performance.now() - t0;
  assertEquals(out, "result for slow");
  assert(elapsed >= 110, `elapsed ${elapsed} ms`);
  const r = chaos.report();
  assertEquals(r.faults, { latency: 1, error: 0, drop: 0, timeout: 0 });
  assertEquals(r.byTool.search.latency, 1);
  assertEquals(r.byAgent["did:warden:a1"].latency, 1);
});

Deno.test("latency is cut short by the caller's signal", async () => {
  const chaos = new Chaos({ faults: [{ kind: "latency", percent: 100, ms: 10_000 }] });
  let ran = false;
  const run = wrapTool((_a: unknown, _c: ToolContext) => {
    ran = true;
    return 1;
  }, chaos);
  const ac = new AbortController();
  const t0 = performance.now();
  const p = run({}, ctx(ac.signal));
  setTimeout(() => ac.abort(new Error("killed")), 30);
  const e = await rejection(p);
  assertEquals((e as Error).message, "killed");
  assert(performance.now() - t0 < 2000);
  assertEquals(ran, false);
});

Deno.test("error: throws the configured message, the tool does not run", async () => {
  let ran = 0;
  const chaos = new Chaos({
    faults: [{ kind: "error", percent: 100, message: "upstream 503 (chaos)" }],
  });
  const run = wrapTool(
    (_a: unknown, _c: ToolContext) => {
      ran++;
      return "ok";
    },
    chaos,
    { tool: "fetch" },
  );
  const e = await rejection(run({}, ctx(new AbortController().signal)));
  assert(e instanceof ChaosFault);
  assertEquals(e.message, "upstream 503 (chaos)");
  assertEquals(e.kind, "error");
  assertEquals(ran, 0);
  assertEquals(chaos.report().faults.error, 1);
});

Deno.test("drop: the call hangs until the caller's signal aborts, then rejects with its reason", async () => {
  const chaos = new Chaos({ faults: [{ kind: "drop", percent: 100 }] });
  const run = wrapTool(echo, chaos, { tool: "search" });
  const ac = new AbortController();
  let settled = false;
  const p = run({ q: "x" }, ctx(ac.signal)).finally(() => settled = true);
  await new Promise((r) => setTimeout(r, 80));
  assertEquals(settled, false, "a dropped response never answers by itself");
  const reason = new Error("agent killed");
  ac.abort(reason);
  assertEquals(await rejection(p), reason);
  assertEquals(chaos.report().faults.drop, 1);
});

Deno.test("drop with an already-aborted signal rejects at once", async () => {
  const chaos = new Chaos({ faults: [{ kind: "drop", percent: 100 }] });
  const run = wrapTool((s: AbortSignal) => s.aborted, chaos);
  const ac = new AbortController();
  ac.abort("gone");
  assertEquals(await rejection(run(ac.signal)), "gone");
});

Deno.test("timeout: the call exceeds the tool's timeout; the caller's timeout fires first", async () => {
  const chaos = new Chaos({
    faults: [{ kind: "timeout", percent: 100, timeoutMs: 100, overshootMs: 50 }],
  });
  const run = wrapTool(echo, chaos, { tool: "search" });
  // the caller enforces a 100 ms timeout with its own signal
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new DOMException("timed out", "TimeoutError")), 100);
  const t0 = performance.now();
  const e = await rejection(run({ q: "x" }, ctx(ac.signal)));
  clearTimeout(timer);
  assertEquals((e as DOMException).name, "TimeoutError");
  assertEquals((e as DOMException).message, "timed out");
  assert(performance.now() - t0 >= 90);
});

Deno.test("timeout without a caller timeout: fails itself just past timeoutMs", async () => {
  const chaos = new Chaos({
    faults: [{ kind: "timeout", percent: 100, timeoutMs: 60, overshootMs: 20 }],
  });
  const run = wrapTool(echo, chaos, { tool: "search" });
  const t0 = performance.now();
  const e = await rejection(run({ q: "x" }, ctx(new AbortController().signal)));
  const elapsed = performance.now() - t0;
  assert(e instanceof ChaosFault);
  assertEquals(e.name, "TimeoutError");
  assertEquals(e.message, "chaos: search timed out (hung 80 ms, timeout 60 ms)");
  assert(elapsed >= 75, `elapsed ${elapsed}`);
  assertEquals(chaos.report().faults.timeout, 1);
});

Deno.test("percent with a seeded RNG: reproducible and close to the share", async () => {
  const cfg = { seed: 42, faults: [{ kind: "error" as const, percent: 30 }] };
  async function run(): Promise<boolean[]> {
    const chaos = new Chaos(cfg);
    const f = wrapTool((n: number) => n, chaos, { tool: "t" });
    const out: boolean[] = [];
    for (let i = 0; i < 1000; i++) {
      out.push(await f(i).then(() => true, () => false));
    }
    assertEquals(chaos.report().faults.error, out.filter((x) => !x).length);
    return out;
  }
  const a = await run();
  const b = await run();
  assertEquals(a, b, "same seed, same faults");
  const errors = a.filter((x) => !x).length;
  assert(errors > 250 && errors < 350, `errors ${errors}`);
  // a passed `random` wins over the seed
  const never = new Chaos(cfg, () => 0.999);
  const f = wrapTool((n: number) => n, never);
  assertEquals(await f(1), 1);
  assertEquals(never.report().faults.error, 0);
});

Deno.test("faults only for some agents or tools; latency adds up before a terminal fault", async () => {
  const chaos = new Chaos({
    faults: [
      { kind: "latency", percent: 100, ms: 20, tools: ["search"] },
      { kind: "latency", percent: 100, ms: 30, agents: ["did:warden:bad*"] },
      { kind: "error", percent: 100, agents: ["did:warden:bad*"], tools: ["search"] },
      { kind: "drop", percent: 100, tools: ["never-called"] },
    ],
  }, seededRandom(7));
  const ac = new AbortController();
  const search = wrapTool(echo, chaos, { tool: "search" }); // agent from ctx.agentId
  const other = wrapTool(echo, chaos, { tool: "other" });

  assertEquals(await other({ q: "1" }, ctx(ac.signal, "did:warden:good")), "result for 1");
  let t0 = performance.now();
  assertEquals(await search({ q: "2" }, ctx(ac.signal, "did:warden:good")), "result for 2");
  assert(performance.now() - t0 >= 15);
  t0 = performance.now();
  const e = await rejection(search({ q: "3" }, ctx(ac.signal, "did:warden:bad-1")));
  assert(e instanceof ChaosFault);
  assert(performance.now() - t0 >= 45, "both latencies before the error");
  t0 = performance.now();
  assertEquals(await other({ q: "4" }, ctx(ac.signal, "did:warden:bad-2")), "result for 4");
  assert(performance.now() - t0 >= 25);

  const r = chaos.report();
  assertEquals(r.calls, 4);
  assertEquals(r.affectedCalls, 3);
  assertEquals(r.faults, { latency: 4, error: 1, drop: 0, timeout: 0 });
  assertEquals(r.byTool, {
    other: { latency: 1, error: 0, drop: 0, timeout: 0 },
    search: { latency: 3, error: 1, drop: 0, timeout: 0 },
  });
  assertEquals(Object.keys(r.byAgent), ["did:warden:bad-1", "did:warden:bad-2", "did:warden:good"]);
  assertEquals(r.byAgent["did:warden:bad-1"], { latency: 2, error: 1, drop: 0, timeout: 0 });
});

Deno.test("disabled chaos: calls pass through and are counted", async () => {
  const chaos = new Chaos({ enabled: false, faults: [{ kind: "error", percent: 100 }] });
  const f = wrapTool((a: number, b: number) => a + b, chaos);
  assertEquals(await f(2, 3), 5);
  assertEquals(chaos.report().calls, 1);
  assertEquals(chaos.report().affectedCalls, 0);
});

Deno.test("wrapping a registered tool's run keeps its signature", async () => {
  const tools = new ToolRegistry().register("search", {
    description: "search",
    schema: z.object({ q: z.string() }),
    run: (args) => `found ${args.q}`,
  });
  const tool = tools.get("search")!;
  const chaos = new Chaos({ faults: [{ kind: "error", percent: 50 }] }, seededRandom(3));
  const run = wrapTool(tool.run.bind(tool), chaos, { tool: "search" });
  const results = [];
  for (let i = 0; i < 20; i++) {
    results.push(
      await run({ q: String(i) }, ctx(new AbortController().signal)).then(
        (v) => v,
        (e: Error) => e.message,
      ),
    );
  }
  const errors = results.filter((r) => r === "chaos: injected error").length;
  assertEquals(errors, chaos.report().faults.error);
  assert(errors > 0 && errors < 20);
  assertEquals(results.filter((r) => String(r).startsWith("found ")).length, 20 - errors);
});

Deno.test("resilienceScore: share of SLOs that held", () => {
  assertEquals(
    resilienceScore([
      { name: "availability", held: true },
      { name: "latency-p99", held: false },
      { name: "error-budget", held: true },
    ]),
    { score: 67, held: ["availability", "error-budget"], broken: ["latency-p99"] },
  );
  assertEquals(resilienceScore([]), { score: 100, held: [], broken: [] });
  assertEquals(resilienceScore([{ name: "a", held: false }]).score, 0);
});

Deno.test("seededRandom: deterministic, in [0, 1)", () => {
  const a = seededRandom(123), b = seededRandom(123), c = seededRandom(124);
  const xs = Array.from({ length: 100 }, a);
  assertEquals(xs, Array.from({ length: 100 }, b));
  assert(xs.every((x) => x >= 0 && x < 1));
  assert(xs[0] !== c());
});
