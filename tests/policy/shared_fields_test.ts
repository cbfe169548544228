// Fields are shared between rules (fields.ts) and short strings are NFC-checked by a loop
// (normalize.ts): sharing must still normalize `resource` per the rule's resource kind, and
// the loop must agree with the regex it shortcuts on both sides of its length limit.
import { compilePolicy } from "../../governance/mod.ts";
import { assertEquals } from "./asserts.ts";

const agent = { id: "did:key:z6MkShared", name: "shared", ring: 2, trust: 600 };

Deno.test("shared fields: `resource` keeps each rule's normalization", () => {
  const p = compilePolicy(`apiVersion: warden/v1
kind: Policy
name: shared
default: deny
rules:
  - { id: a, effect: allow, action: fs.read, when: { resource: { eq: /ws/x/../b } } }
  - { id: b, effect: allow, action: tool.call, when: { resource: { eq: x/../y } } }
  - { id: c, effect: allow, action: net.fetch, when: { resource: { eq: "HTTPS://H.EXAMPLE.COM:443/p" } } }
`);
  const d = (action: string, resource: string) => p.evaluate({ agent, action, resource }).rule;
  assertEquals(d("fs.read", "/ws/b"), "a");
  assertEquals(d("fs.read", "/ws/./b"), "a");
  assertEquals(d("tool.call", "x/../y"), "b");
  assertEquals(d("tool.call", "y"), null);
  assertEquals(d("net.fetch", "https://h.example.com/p"), "c");
  // The same policy compiled again (its fields now come from the shared table) decides alike.
  const q = compilePolicy(`apiVersion: warden/v1
kind: Policy
name: again
default: deny
rules:
  - { id: b, effect: allow, action: tool.call, when: { resource: { eq: x/../y } } }
  - { id: a, effect: allow, action: fs.read, when: { resource: { eq: /ws/x/../b } } }
`);
  assertEquals(q.evaluate({ agent, action: "fs.read", resource: "/ws/b" }).rule, "a");
  assertEquals(q.evaluate({ agent, action: "tool.call", resource: "y" }).rule, null);
});

Deno.test("nfc: composed and decomposed spellings match, short and long", () => {
  const short = "caf\u00e9";
  const long = "x".repeat(80) + "\u00e9";
  const p = compilePolicy(`apiVersion: warden/v1
kind: Policy
name: nfc
default: deny
rules:
  - { id: s, effect: allow, action: tool.call, resource: t, when: { args.name: { eq: "${short}" } } }
  - { id: l, effect: allow, action: tool.call, resource: u, when: { args.name: { eq: "${long}" } } }
  - { id: n, effect: deny, action: tool.call, resource: v, when: { args.name: { ne: "${short}" } } }
`);
  const d = (resource: string, name: string) =>
    p.evaluate({ agent, action: "tool.call", resource, args: { name } }).rule;
  assertEquals(d("t", short.normalize("NFD")), "s");
  assertEquals(d("t", short), "s");
  assertEquals(d("t", "cafe"), null);
  assertEquals(d("u", long.normalize("NFD")), "l");
  assertEquals(d("u", "x".repeat(80) + "e"), null);
  assertEquals(d("v", short.normalize("NFD")), null);
  assertEquals(d("v", "tea"), "n");
});

Deno.test("comparisons: each operator at its boundary", () => {
  const p = compilePolicy(`apiVersion: warden/v1
kind: Policy
name: cmp
default: deny
rules:
  - { id: lt, effect: allow, action: tool.call, resource: lt, when: { args.n: { lt: 5 } } }
  - { id: lte, effect: allow, action: tool.call, resource: lte, when: { args.n: { lte: 5 } } }
  - { id: gt, effect: allow, action: tool.call, resource: gt, when: { args.n: { gt: 5 } } }
  - { id: gte, effect: allow, action: tool.call, resource: gte, when: { args.n: { gte: 5 } } }
`);
  const d = (op: string, n: unknown) =>
    p.evaluate({ agent, action: "tool.call", resource: op, args: { n } }).rule;
  const got = ["lt", "lte", "gt", "gte"].map((op) => [4, 5, 6].map((n) => d(op, n)));
  assertEquals(got, [
    ["lt", null, null],
    ["lte", "lte", null],
    [null, null, "gt"],
    [null, "gte", "gte"],
  ]);
  assertEquals(d("gt", "9"), null);
  assertEquals(d("gt", NaN), null);
});
