/**
 * Every memory op is decided and audited (action, resource `namespace/key`, the content's
 * SHA-256, never the value); provenance is the host's; quotas per namespace (entries and
 * bytes, under floods and races), TTL expiry, oversized values, and durability across reopen.
 */
import { createHash } from "node:crypto";
import { assert, assertEquals } from "../policy/asserts.ts";
import { capabilityCeiling } from "../../governance/rings/mod.ts";
import { agent, memCtx } from "./helpers.ts";

type Entry = {
  key: string;
  value: unknown;
  tags: string[];
  expiresAt: number | null;
  provenance: Record<string, unknown>;
};

Deno.test("each op is one audited decision with the content's hash and never its value", async () => {
  const m = await memCtx();
  try {
    const a = agent("a", 800);
    const secret = "the launch code is 7788-SECRET";
    const put = await m.op(a, {
      op: "memory.put",
      key: "notes/launch",
      value: { text: secret },
      tags: ["ops", "plan"],
      source: { kind: "tool", ref: "search" },
    }) as { sha256: string; quarantined: boolean };
    const sha = createHash("sha256").update(JSON.stringify({ text: secret })).digest("hex");
    assertEquals(put.sha256, sha);
    const got = await m.op(a, { op: "memory.get", key: "notes/launch" }) as Entry;
    assertEquals(got.value, { text: secret });
    assertEquals(got.tags, ["ops", "plan"]);
    const p = got.provenance;
    assertEquals([p.writer, p.writerName, p.ring, p.trust], [a.id, "a", 2, 800]);
    assertEquals(p.source, { kind: "tool", ref: "search" });
    assertEquals(p.sha256, sha);
    assert(typeof p.at === "number" && p.at > 0);
    assertEquals(
      (await m.op(a, { op: "memory.list", prefix: "notes/", tags: ["plan"] }) as Entry[]).length,
      1,
    );
    assertEquals((await m.op(a, { op: "memory.list", tags: ["nope"] }) as Entry[]).length, 0);
    assertEquals((await m.op(a, { op: "memory.search", text: "7788" }) as Entry[]).length, 1);
    assertEquals(await m.op(a, { op: "memory.delete", key: "notes/launch" }), true);
    assertEquals(await m.op(a, { op: "memory.get", key: "notes/launch" }), null);
    const actions = m.audit.map((e) => `${e.action} ${e.resource} ${e.effect}`);
    assertEquals(actions, [
      `memory.write ${a.id}/notes/launch allow`,
      `memory.read ${a.id}/notes/launch allow`,
      `memory.read ${a.id}/notes/ allow`,
      `memory.read ${a.id}/ allow`,
      `memory.read ${a.id}/ allow`,
      `memory.delete ${a.id}/notes/launch allow`,
      `memory.read ${a.id}/notes/launch allow`,
    ]);
    assertEquals(m.audit[0].sha256, sha);
    assertEquals(m.audit[1].sha256, sha);
    assert(!JSON.stringify(m.audit).includes("7788"), "the value is in the audit log");
  } finally {
    await m.close();
  }
});

Deno.test("a ring or plugin without the memory capability is refused before the policy", async () => {
  const m = await memCtx();
  try {
    const sandboxed = agent("s", 800, 3);
    assertEquals(await m.refusal(sandboxed, { op: "memory.put", key: "k", value: 1 }), "denied");
    assertEquals(await m.refusal(sandboxed, { op: "memory.delete", key: "k" }), "denied");
    assert(String(m.audit.at(-1)?.reason).startsWith("ring ceiling"));
    // A plugin's declared capabilities are a second ceiling: without `memory` it has none.
    const plugin = { ...agent("p", 900, 1), caps: capabilityCeiling({ tools: true }, "plugin p") };
    assertEquals(await m.refusal(plugin, { op: "memory.get", key: "k" }), "denied");
    assert(String(m.audit.at(-1)?.reason).startsWith("plugin p"), String(m.audit.at(-1)?.reason));
  } finally {
    await m.close();
  }
});

Deno.test("quotas per namespace hold under floods and concurrent writes; replacing a key fits", async () => {
  const m = await memCtx({ quota: { entries: 5, bytes: 400 } });
  try {
    const a = agent("a", 800);
    const b = agent("b", 800);
    const codes = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) => m.refusal(a, { op: "memory.put", key: `k${i}`, value: i }),
      ),
    );
    assertEquals(codes.filter((c) => c === null).length, 5);
    assertEquals(codes.filter((c) => c === "busy").length, 45);
    assertEquals((await m.memory.store.usage(a.id)).entries, 5);
    // Replacing an existing key does not grow the namespace.
    assertEquals(await m.refusal(a, { op: "memory.put", key: "k0", value: "again" }), null);
    // Another namespace has its own quota.
    assertEquals(await m.refusal(b, { op: "memory.put", key: "k", value: 1 }), null);
    // Bytes: one 300-byte value fits in b's namespace, a second does not.
    assertEquals(
      await m.refusal(b, { op: "memory.put", key: "big1", value: "x".repeat(298) }),
      null,
    );
    assertEquals(
      await m.refusal(b, { op: "memory.put", key: "big2", value: "x".repeat(298) }),
      "busy",
    );
    // Concurrent writes of one key leave exactly one visible entry.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => m.op(b, { op: "memory.put", key: "k", value: i })),
    );
    assertEquals((await m.memory.store.all({ namespace: b.id, limit: 100 })).length, 2);
    const quota = m.audit.filter((e) => e.effect === "deny" && String(e.reason).includes("full"));
    assertEquals(quota.length, 46);
  } finally {
    await m.close();
  }
});

Deno.test("values over the size cap are refused; TTL expiry hides and frees entries", async () => {
  let now = 10_000;
  const m = await memCtx({ maxValueBytes: 100, quota: { entries: 2 }, now: () => now });
  try {
    const a = agent("a", 800);
    assertEquals(
      await m.refusal(a, { op: "memory.put", key: "k", value: "x".repeat(200) }),
      "invalid",
    );
    await m.op(a, { op: "memory.put", key: "short", value: 1, ttlMs: 1000 });
    await m.op(a, { op: "memory.put", key: "long", value: 2 });
    const e = await m.op(a, { op: "memory.get", key: "short" }) as Entry;
    assertEquals(e.expiresAt, 11_000);
    assertEquals(await m.refusal(a, { op: "memory.put", key: "third", value: 3 }), "busy");
    now = 11_000;
    assertEquals(await m.op(a, { op: "memory.get", key: "short" }), null);
    assertEquals((await m.op(a, { op: "memory.list" }) as Entry[]).map((x) => x.key), ["long"]);
    // The expired entry is swept to make room.
    assertEquals(await m.refusal(a, { op: "memory.put", key: "third", value: 3 }), null);
    assertEquals(await m.refusal(a, { op: "memory.put", key: "t", value: 1, ttlMs: 0 }), "invalid");
  } finally {
    await m.close();
  }
});

Deno.test("memory outlives the service: a reopened store reads the same entries, intact", async () => {
  const m = await memCtx();
  try {
    const a = agent("a", 800);
    await m.op(a, { op: "memory.put", key: "k", value: { n: 1 } });
    m.memory.close();
    const got = await m.op(a, { op: "memory.get", key: "k" }) as Entry;
    assertEquals(got.value, { n: 1 });
    const key = await Deno.stat(`${m.memory.path}.key`);
    assertEquals(key.mode! & 0o777, 0o600);
  } finally {
    await m.close();
  }
});

Deno.test("a list of many large entries is cut at 4 MiB of values: the host never builds a huge reply", async () => {
  const m = await memCtx({ quota: { bytes: 64 * 1024 * 1024 } });
  try {
    const a = agent("a", 800);
    const big = "x".repeat(200 * 1024);
    for (let i = 0; i < 30; i++) {
      await m.op(a, { op: "memory.put", key: `big/${String(i).padStart(2, "0")}`, value: big });
    }
    for (const req of [{ op: "memory.list", limit: 1000 }, { op: "memory.search", text: "xxx" }]) {
      const got = await m.op(a, req) as Entry[];
      const bytes = got.reduce((n, e) => n + JSON.stringify(e.value).length, 0);
      assert(
        got.length >= 1 && bytes <= 4 * 1024 * 1024,
        `${req.op}: ${got.length} entries, ${bytes} bytes`,
      );
      assertEquals(got[0].key, "big/00", "in key order, from the start");
    }
  } finally {
    await m.close();
  }
});

Deno.test("a flood of quarantined writes cannot fill a shared namespace for honest writers", async () => {
  const m = await memCtx({ quota: { entries: 20, bytes: 1 << 20 } });
  try {
    const low = agent("low", 550); // quarantined by the policy (trust below 700)
    const honest = agent("honest", 900);
    const codes: (string | null)[] = [];
    for (let i = 0; i < 60; i++) {
      codes.push(
        await m.refusal(low, { op: "memory.put", namespace: "team-a", key: `junk${i}`, value: i }),
      );
    }
    // Quarantined entries have their own, smaller share (a tenth of the quota).
    assertEquals(codes.filter((c) => c === null).length, 2);
    assertEquals(codes.filter((c) => c === "busy").length, 58);
    for (let i = 0; i < 20; i++) {
      assertEquals(
        await m.refusal(honest, { op: "memory.put", namespace: "team-a", key: `ok${i}`, value: i }),
        null,
        `honest write ${i}`,
      );
    }
    assertEquals(
      await m.refusal(honest, { op: "memory.put", namespace: "team-a", key: "ok20", value: 1 }),
      "busy",
    );
  } finally {
    await m.close();
  }
});
