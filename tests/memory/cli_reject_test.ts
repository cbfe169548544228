/**
 * `deno task memory reject ID`: a quarantined entry is deleted and never read; a visible, a
 * missing or an already rejected entry is one line with exit 1; `--help` works and a bad flag
 * names itself; `--state` and `--fleet` together are bad usage. Also through the real task
 * (its permissions), where a release and a reject are seen by the running service at once.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { agent, memCtx } from "./helpers.ts";
import { memoryCli, memoryTask } from "./cli_helpers.ts";

Deno.test("memory CLI reject: a quarantined entry is deleted, never read; mistakes are one line", async () => {
  const m = await memCtx();
  try {
    const low = agent("low", 600), reader = agent("reader", 900), w = agent("w", 800);
    await m.op(low, { op: "memory.put", namespace: "team-a", key: "pay", value: "to mallory" });
    await m.op(w, { op: "memory.put", namespace: "team-a", key: "tip", value: "ok" });
    const state = ["--state", m.dir];
    const listed = await memoryCli(["list", "--quarantined", ...state]);
    assertEquals(listed.code, 0, listed.err);
    const rows = listed.out.split("\n");
    assertEquals(rows.length, 1, listed.out);
    const id = rows[0].trim().split(/\s+/)[0];
    const r = await memoryCli(["reject", id, ...state]);
    assertEquals(r.code, 0, r.err);
    assert(r.out.startsWith("rejected") && r.out.includes("team-a/pay"), r.out);
    assertEquals(await m.op(reader, { op: "memory.get", namespace: "team-a", key: "pay" }), null);
    assertEquals((await memoryCli(["list", "--quarantined", ...state])).out, "");
    // Gone: a second reject, and a release, find nothing.
    assertEquals((await memoryCli(["reject", id, ...state])).err, `no memory entry ${id}`);
    assertEquals((await memoryCli(["release", id, ...state])).code, 1);
    // A visible entry is not rejected (quarantine it first).
    const all = await memoryCli(["list", ...state]);
    const visibleId = all.out.trim().split(/\s+/)[0];
    const refused = await memoryCli(["reject", visibleId, ...state]);
    assertEquals([refused.code, refused.err], [1, `entry ${visibleId} is not quarantined`]);
    // Usage mistakes: exit 2, one line naming the problem.
    assertEquals((await memoryCli(["reject", ...state])).code, 2);
    assertEquals((await memoryCli(["reject", "0", ...state])).code, 2);
    const bad = await memoryCli(["reject", id, "--bogus", ...state]);
    assertEquals(bad.code, 2);
    assertEquals(bad.err.split("\n")[0], "unknown flag --bogus");
    const both = await memoryCli(["reject", id, ...state, "--fleet", "postgres://x@127.0.0.1/db"]);
    assertEquals(both.code, 2);
    assert(both.err.includes("--state and --fleet"), both.err);
    const help = await memoryCli(["reject", "--help"]);
    assertEquals(help.code, 0);
    assert(help.out.includes("reject <id>"), help.out);
  } finally {
    await m.close();
  }
});

Deno.test("deno task memory reject and release: the running service sees the change", async () => {
  const m = await memCtx();
  try {
    const low = agent("low", 600), reader = agent("reader", 900);
    await m.op(low, { op: "memory.put", namespace: "team-a", key: "a", value: 1 });
    await m.op(low, { op: "memory.put", namespace: "team-a", key: "b", value: 2 });
    const held = await m.memory.store.all({ status: "quarantined", limit: 10 });
    const id = (k: string) => String(held.find((e) => e.key === k)!.id);
    const env = { WARDEN_FLEET_URL: "" };
    const rj = await memoryTask(["reject", id("a"), "--state", m.dir], env);
    assertEquals(rj.code, 0, rj.err);
    const rl = await memoryTask(["release", id("b"), "--state", m.dir], env);
    assertEquals(rl.code, 0, rl.err);
    assertEquals(await m.op(reader, { op: "memory.get", namespace: "team-a", key: "a" }), null);
    const b = await m.op(reader, { op: "memory.get", namespace: "team-a", key: "b" });
    assertEquals((b as { value: unknown }).value, 2);
  } finally {
    await m.close();
  }
});
