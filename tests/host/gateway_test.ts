/** The SDK gateway under hostile clients: malformed, oversized, floods, second connections, kills. */
import { join } from "node:path";
import { z } from "zod";
import { assertEquals } from "../policy/asserts.ts";
import { encodeFrame, FrameDecoder } from "../../sdk/frames.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { Gateway, type GatewayLimits } from "../../runtime/gateway/gateway.ts";
import { Governor } from "../../runtime/governor.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { agentIn } from "./helpers.ts";

async function setup(limits: Partial<GatewayLimits> = {}) {
  const dir = await Deno.makeTempDir();
  const agent = agentIn(dir);
  const governor = new Governor(
    loadPolicy(["policies/agents.yaml"], { builtin: true }),
    loadRings(),
    new AuditLog(),
  );
  const tools = new ToolRegistry();
  tools.register("noop", { description: "", schema: z.object({}), run: () => "ok" });
  tools.register("search", {
    description: "waits until aborted",
    schema: z.object({ query: z.string() }),
    run: (_a, ctx) =>
      new Promise((_r, reject) =>
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))
      ),
  });
  const violations: string[] = [];
  const path = join(dir, "s.sock");
  const gw = new Gateway({
    path,
    agent,
    governor,
    tools,
    env: {},
    limits,
    onViolation: (w) => violations.push(w),
  });
  const conn = await Deno.connect({ transport: "unix", path });
  const replies: Record<string, unknown>[] = [];
  const dec = new FrameDecoder(1 << 24);
  const reading = (async () => {
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        for (const ev of dec.push(buf.subarray(0, n))) {
          if (ev.kind === "frame") replies.push(ev.value as Record<string, unknown>);
        }
      }
    } catch { /* closed */ }
  })();
  const send = (bytes: Uint8Array) => conn.write(bytes);
  const raw = (text: string) => {
    const body = new TextEncoder().encode(text);
    const f = new Uint8Array(4 + body.length);
    new DataView(f.buffer).setUint32(0, body.length);
    f.set(body, 4);
    return f;
  };
  const until = async (pred: () => boolean) => {
    for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  };
  const done = async () => {
    gw.close();
    try {
      conn.close();
    } catch { /* closed */ }
    await reading;
    await Deno.remove(dir, { recursive: true });
  };
  return { gw, governor, conn, replies, send, raw, until, violations, done, path };
}

Deno.test("malformed and invalid frames are answered 'invalid' and the channel keeps working", async () => {
  const t = await setup();
  try {
    await t.send(t.raw("{not json"));
    await t.send(t.raw(JSON.stringify({ id: 7, op: "tool.call" })));
    await t.send(t.raw(JSON.stringify({ id: 8, op: "format.disk" })));
    await t.send(encodeFrame({ id: 9, op: "tool.call", name: "noop", args: {} }));
    await t.until(() => t.replies.length >= 4);
    const byId = (id: number | null) =>
      t.replies.find((r) => r.id === id) as { ok: boolean; error?: { code: string } };
    assertEquals(byId(null).error?.code, "invalid");
    assertEquals(byId(7).error?.code, "invalid");
    assertEquals(byId(8).error?.code, "invalid");
    assertEquals(byId(9), { id: 9, ok: true, result: "ok" } as unknown);
    assertEquals(t.violations, []);
    if (!t.governor.audit.recent.some((e) => e.action === "sdk.invalid")) {
      throw new Error("invalid request not audited");
    }
  } finally {
    await t.done();
  }
});

Deno.test("an oversized frame is a protocol violation: the channel closes", async () => {
  const t = await setup();
  try {
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, 64 * 1024 * 1024);
    await t.send(header);
    await t.until(() => t.violations.length > 0);
    if (!t.violations[0].startsWith("oversized SDK frame")) throw new Error(t.violations.join());
  } finally {
    await t.done();
  }
});

Deno.test("floods get 'busy' instead of unbounded work", async () => {
  const t = await setup({ maxInFlight: 4, ratePerSecond: 100, burst: 50 });
  try {
    const frames = [];
    for (let i = 0; i < 400; i++) {
      frames.push(encodeFrame({ id: i, op: "tool.call", name: "noop", args: {} }));
    }
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let off = 0;
    for (const f of frames) {
      all.set(f, off);
      off += f.length;
    }
    await t.send(all);
    await t.until(() => t.replies.length >= 400);
    const busy = t.replies.filter((r) =>
      (r as { error?: { code: string } }).error?.code === "busy"
    ).length;
    const ok = t.replies.filter((r) => r.ok === true).length;
    assertEquals(busy + ok, 400);
    if (busy === 0 || ok === 0) {
      throw new Error(`expected both busy and ok replies, got ${ok} ok / ${busy} busy`);
    }
  } finally {
    await t.done();
  }
});

Deno.test("a second connection to the SDK socket is refused and reported", async () => {
  const t = await setup();
  try {
    const c2 = await Deno.connect({ transport: "unix", path: t.path });
    const n = await c2.read(new Uint8Array(16)).catch(() => null);
    assertEquals(n, null);
    c2.close();
    await t.until(() => t.violations.length > 0);
    if (!t.violations[0].includes("second connection")) throw new Error(t.violations.join());
  } finally {
    await t.done();
  }
});

Deno.test("closing (kill) cancels in-flight work and refuses later requests", async () => {
  const t = await setup();
  try {
    await t.send(encodeFrame({ id: 1, op: "tool.call", name: "search", args: { query: "x" } }));
    await t.until(() => t.governor.audit.recent.some((e) => e.resource === "search"));
    t.gw.close();
    await t.send(encodeFrame({ id: 2, op: "tool.call", name: "noop", args: {} })).catch(() => 0);
    await new Promise((r) => setTimeout(r, 50));
    assertEquals(t.replies.filter((r) => r.ok === true).length, 0);
    assertEquals(t.governor.audit.recent.filter((e) => e.resource === "noop").length, 0);
  } finally {
    await t.done();
  }
});
