/**
 * The example (examples/memory/run.ts), with real sandboxed agents through the SDK: a poisoned
 * note from a low-trust agent is quarantined and never reaches the trusted reader; the operator
 * releases the benign one with `deno task memory release`, and the reader then sees it with its
 * provenance.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { memoryExample } from "../../examples/memory/run.ts";

Deno.test({
  name: "example: a poisoned note is quarantined and never read; a released benign one is",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "warden-mem-example-" });
    try {
      const r = await memoryExample(dir);
      assertEquals(r.writes.poisoned.quarantined, true);
      assertEquals(r.writes.benign.quarantined, true);
      assertEquals(r.before, { listed: [], payment: null, found: [] });
      assertEquals(r.quarantined.length, 2);
      assertEquals(r.after.listed.map((e) => e.key), ["standup"]);
      assertEquals(r.after.payment, null);
      assertEquals(r.after.found, []);
      const p = r.after.listed[0].provenance as {
        writerName: string;
        trust: number;
        source: unknown;
      };
      assertEquals(p.writerName, "writer");
      assertEquals(p.source, { kind: "url", ref: "https://forum.example/thread/42" });
      assert(p.trust < 700, `writer trust ${p.trust}`);
      assert(!JSON.stringify(r.after).includes("IBAN"), "the poisoned note reached the reader");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
