// The field index scans a rule reached through its eq/in key with that leaf taken as true
// (bucket.ts, knownTrue): the rule's other conditions still decide. (A NaN value, which a Map
// key matches but `eq` never equals, would keep the whole condition; policies cannot hold one.)
import { compilePolicy } from "../../governance/mod.ts";
import { assertEquals } from "./asserts.ts";

const agent = { id: "did:key:z6MkIdx", name: "idx", ring: 2, trust: 600 };
const req = (args: Record<string, unknown>) => ({
  agent,
  action: "tool.call",
  resource: "t",
  args,
});

Deno.test("index: a rule found by its key still needs its other conditions", () => {
  const p = compilePolicy(`apiVersion: warden/v1
kind: Policy
name: idx
default: deny
rules:
  - { id: a1, effect: allow, action: tool.call, when: { args.k: { eq: x }, args.n: { gt: 5 } } }
  - { id: a2, effect: allow, action: tool.call, when: { args.k: { in: [y, x] } } }
`);
  assertEquals(p.indexStats()["tool.call"].field, "args.k");
  assertEquals(p.evaluate(req({ k: "x", n: 9 })).rule, "a1");
  assertEquals(p.evaluate(req({ k: "x", n: 1 })).rule, "a2");
  assertEquals(p.evaluate(req({ k: "y", n: 9 })).rule, "a2");
  assertEquals(p.evaluate(req({ k: "z", n: 9 })).rule, null);
  assertEquals(p.evaluate(req({ n: 9 })).rule, null);
});

Deno.test("index: a NaN value never reaches the index (the schema refuses it)", () => {
  let msg = "";
  try {
    compilePolicy(`apiVersion: warden/v1
kind: Policy
name: nan
default: deny
rules:
  - { id: n1, effect: allow, action: tool.call, when: { args.k: { eq: .nan } } }
`);
  } catch (e) {
    msg = String(e);
  }
  assertEquals(/expected a string, number, boolean or null/.test(msg), true, msg);
});
