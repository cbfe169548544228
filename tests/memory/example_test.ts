/**
 * The example (examples/memory/run.ts), with real sandboxed agents through the SDK: a poisoned
 * note from a low-trust agent is quarantined and never reaches the trusted reader; the operator
 * releases the benign one with `deno task memory release`, and the reader then sees it with its
 * provenance; a reporter's output carrying its deploy token leaves the host redacted.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { sha256Hex } from "../../governance/audit/sha256.ts";
import { DEPLOY_TOKEN, memoryExample } from "../../examples/memory/run.ts";

Deno.test({
  name:
    "example: a poisoned note is quarantined and never read; a released benign one is; a leaked token is redacted",
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
      // The reporter's output left the host redacted; the audit names the rule and the hash.
      assertEquals(r.report, {
        report: ["standup: stand-up moves to 10:00 on Fridays"],
        debug: "deployed with [redacted:no-credentials]",
      });
      assertEquals(r.checks.length, 1);
      assertEquals([r.checks[0].rule, r.checks[0].outcome], ["no-credentials", "redact"]);
      const f = (r.checks[0].findings as { detector: string; sha256: string }[])[0];
      assertEquals([f.detector, f.sha256], ["github_token", sha256Hex(DEPLOY_TOKEN)]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
