/**
 * Attacks on namespaces and keys: an agent never reaches another agent's private namespace,
 * however the name is spelled (its did, another case, a look-alike, `..`, empty, huge, with a
 * slash), and keys are never read as paths. Every refusal is audited with its reason.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { agent, memCtx } from "./helpers.ts";

const OPS = ["memory.put", "memory.get", "memory.delete", "memory.list", "memory.search"];

function req(op: string, namespace: string | undefined, key = "note") {
  const ns = namespace === undefined ? {} : { namespace };
  if (op === "memory.put") return { op, ...ns, key, value: "x" };
  if (op === "memory.list") return { op, ...ns, prefix: key };
  if (op === "memory.search") return { op, ...ns, text: "x", prefix: key };
  return { op, ...ns, key };
}

Deno.test("another agent's private namespace is refused however it is spelled", async () => {
  const m = await memCtx();
  try {
    const alice = agent("alice", 800);
    const mallory = agent("mallory", 800);
    await m.op(alice, { op: "memory.put", key: "secret", value: "alice's plan" });
    const cyrillicD = "\u0501"; // ԁ looks like d
    const spellings = [
      alice.id,
      alice.id.toUpperCase(),
      alice.id.replace("did:", "DID:"),
      alice.id.replace("did:", "did\uff1a"), // fullwidth colon
      `${cyrillicD}id:key:${alice.id.slice(8)}`,
      "\uff44id:key:" + alice.id.slice(8), // fullwidth d
      ` ${alice.id}`,
      `${alice.id}/..`,
      `${alice.id}\u0000`,
      "..",
      ".",
      "",
      "a".repeat(64),
      "x".repeat(10_000),
      "team-a/../" + alice.id,
      "Team-A",
      "t\u0435am-a", // Cyrillic е
      "team-a ",
    ];
    for (const ns of spellings) {
      for (const op of OPS) {
        const code = await m.refusal(mallory, req(op, ns, op === "memory.list" ? "" : "secret"));
        assert(
          code === "denied" || code === "invalid",
          `${op} in ${JSON.stringify(ns.slice(0, 40))}: ${code}`,
        );
      }
    }
    // The namespace that looks like a did is a denial (audited), the rest invalid (audited).
    const denied = m.audit.filter((e) =>
      e.agent.id === mallory.id && e.effect === "deny" &&
      String(e.reason).includes("another agent's private namespace")
    );
    assert(denied.length >= OPS.length * 3, `only ${denied.length} did-namespace denials audited`);
    // Alice's entry is untouched and hers alone.
    const got = await m.op(alice, { op: "memory.get", key: "secret" }) as { value: string };
    assertEquals(got.value, "alice's plan");
    assertEquals(await m.op(mallory, { op: "memory.get", key: "secret" }), null);
    assertEquals(await m.op(mallory, { op: "memory.search", text: "plan" }), []);
  } finally {
    await m.close();
  }
});

Deno.test("a shared namespace is usable only where the policy names it", async () => {
  const m = await memCtx();
  try {
    const a = agent("a", 800);
    const b = agent("b", 800);
    await m.op(a, { op: "memory.put", namespace: "team-a", key: "plan", value: 1 });
    const got = await m.op(b, { op: "memory.get", namespace: "team-a", key: "plan" }) as {
      value: number;
      provenance: { writer: string };
    };
    assertEquals(got.value, 1);
    assertEquals(got.provenance.writer, a.id);
    // team-b is a valid name no rule allows: denied by the policy's default.
    assertEquals(
      await m.refusal(a, { op: "memory.put", namespace: "team-b", key: "x", value: 1 }),
      "denied",
    );
    // Delete in team-a is not allowed (only read and write are).
    assertEquals(
      await m.refusal(b, { op: "memory.delete", namespace: "team-a", key: "plan" }),
      "denied",
    );
  } finally {
    await m.close();
  }
});

Deno.test("keys are plain segments: no '..', '.', empty, doubled or edge slashes, no specials", async () => {
  const m = await memCtx();
  try {
    const a = agent("a", 800);
    const bad = [
      "",
      "..",
      "../x",
      "a/../b",
      "a/./b",
      "./a",
      "/a",
      "a/",
      "a//b",
      "a b",
      "a\u0000b",
      "a\nb",
      "a*",
      "a?",
      "a\\b",
      "n\u043ete", // Cyrillic о
      "k".repeat(513),
    ];
    for (const key of bad) {
      for (const op of ["memory.put", "memory.get", "memory.delete"]) {
        assertEquals(await m.refusal(a, req(op, undefined, key)), "invalid", `${op} ${key}`);
      }
    }
    for (const prefix of ["../", "a//", "/"]) {
      assertEquals(await m.refusal(a, { op: "memory.list", prefix }), "invalid", prefix);
    }
    assertEquals(await m.op(a, { op: "memory.list" }), [], "nothing was stored");
  } finally {
    await m.close();
  }
});

Deno.test("an agent cannot set its own provenance: the wire refuses the field", async () => {
  const m = await memCtx();
  try {
    const a = agent("a", 800);
    const forged = { writer: "did:key:z6MkTrusted", trust: 1000 };
    assertEquals(
      await m.refusal(a, { op: "memory.put", key: "k", value: 1, provenance: forged }),
      "invalid",
    );
    assertEquals(
      await m.refusal(a, {
        op: "memory.put",
        key: "k",
        value: 1,
        source: { kind: "agent", trust: 1000 },
      }),
      "invalid",
    );
    assertEquals(
      await m.refusal(a, { op: "memory.put", key: "k", value: 1, source: { kind: "operator" } }),
      "invalid",
    );
  } finally {
    await m.close();
  }
});
