/**
 * `deno task memory`: the operator's list, show, quarantine (one entry, or retroactively every
 * write of a did since T) and release, on the store a host wrote; mistakes are one line.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { agent, memCtx } from "./helpers.ts";
import { memoryCli as cli } from "./cli_helpers.ts";

Deno.test("memory CLI: retroactive quarantine by writer and time, release, show", async () => {
  let now = Date.parse("2026-01-01T00:00:00Z");
  const m = await memCtx({ now: () => now });
  try {
    const w = agent("w", 800);
    const reader = agent("r", 900);
    await m.op(w, { op: "memory.put", namespace: "team-a", key: "early", value: "a" });
    now = Date.parse("2026-01-02T00:00:00Z");
    await m.op(w, { op: "memory.put", namespace: "team-a", key: "late", value: "b" });
    const state = ["--state", m.dir];
    const q = await cli(["quarantine", "--by", w.id, "--since", "2026-01-01T12:00:00Z", ...state]);
    assertEquals(q.code, 0, q.err);
    assert(q.out.includes("team-a/late") && !q.out.includes("team-a/early"), q.out);
    assert(q.out.endsWith("1 entries quarantined"), q.out);
    const keys = async () =>
      (await m.op(reader, { op: "memory.list", namespace: "team-a" }) as { key: string }[]).map((
        e,
      ) => e.key);
    assertEquals(await keys(), ["early"]);
    const listed = await cli(["list", "--quarantined", ...state]);
    const id = listed.out.trim().split(/\s+/)[0];
    const shown = await cli(["show", id, ...state]);
    assertEquals(JSON.parse(shown.out).value, "b");
    assertEquals((await cli(["release", id, ...state])).code, 0);
    assertEquals(await keys(), ["early", "late"]);
    // Quarantine one entry by id, then release it again.
    assertEquals((await cli(["quarantine", id, ...state])).code, 0);
    assertEquals(await keys(), ["early"]);
    const again = await cli(["release", id, ...state]);
    assertEquals(again.code, 0);
    const twice = await cli(["release", id, ...state]);
    assertEquals([twice.code, twice.err], [1, `entry ${id} is not quarantined`]);
  } finally {
    await m.close();
  }
});

Deno.test("memory CLI: mistakes are one line with the right exit code", async () => {
  const m = await memCtx();
  try {
    const state = ["--state", m.dir];
    const none = await cli(["list", ...state]);
    assertEquals(none.code, 1);
    assert(none.err.includes("memory.db") && !none.err.includes("\n"), none.err);
    await m.op(agent("a", 800), { op: "memory.put", key: "k", value: 1 });
    const both = await cli(["quarantine", "1", "--by", "did:key:z", "--since", "0", ...state]);
    assertEquals(both.code, 2);
    const half = await cli(["quarantine", "--by", "did:key:z", ...state]);
    assertEquals(half.code, 2);
    const badTime = await cli([
      "quarantine",
      "--by",
      "did:key:z",
      "--since",
      "yesterday",
      ...state,
    ]);
    assertEquals(badTime.code, 2);
    assert(badTime.err.startsWith("--since: expected"), badTime.err);
    const noEntry = await cli(["release", "99", ...state]);
    assertEquals([noEntry.code, noEntry.err], [1, "no memory entry 99"]);
    assertEquals((await cli(["show", "x", ...state])).code, 2);
  } finally {
    await m.close();
  }
});

Deno.test("memory CLI: what an agent wrote cannot drive the operator's terminal", async () => {
  const m = await memCtx();
  try {
    const a = agent("a", 800);
    const ref = "https://x.example/\u001b[2K\r\u202eevil";
    await m.op(a, { op: "memory.put", key: "k", value: "v", source: { kind: "url", ref } });
    const listed = await cli(["list", "--state", m.dir]);
    assertEquals(listed.code, 0);
    // deno-lint-ignore no-control-regex
    assert(!/[\u0000-\u001f\u202e]/.test(listed.out), JSON.stringify(listed.out));
    assert(listed.out.includes("\\u{1b}[2K\\u{d}\\u{202e}evil"), listed.out);
    const shown = await cli(["show", "1", "--state", m.dir]);
    // deno-lint-ignore no-control-regex
    assert(!/[\u0000-\u0009\u000b-\u001f\u202e]/.test(shown.out), JSON.stringify(shown.out));
    assertEquals(JSON.parse(shown.out).provenance.source.ref, ref, "still JSON, same value");
  } finally {
    await m.close();
  }
});
