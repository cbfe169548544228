/**
 * The MCP server-to-client actions in the policy engine's vocabulary (issue 19 item 3):
 * `mcp.sampling`, `mcp.elicitation` and `mcp.roots` are known actions of kind `name`, covered
 * by `mcp.*`, decided on their arguments, and under the ring's `tools` capability.
 */
import { ACTION_KINDS, compilePolicy } from "../../governance/mod.ts";
import { RingCeilings } from "../../governance/rings/mod.ts";
import { assertEquals, assertMatch } from "../policy/asserts.ts";

const NEW = ["mcp.sampling", "mcp.elicitation", "mcp.roots"];

const req = (action: string, args: Record<string, unknown> = {}, ring = 2) => ({
  agent: { id: "a", name: "srv", ring, trust: 500, labels: {} },
  action,
  resource: "srv",
  args,
  context: { path: "mcp" },
});

Deno.test("the server-to-client actions are in the vocabulary, as names", () => {
  for (const a of NEW) assertEquals(ACTION_KINDS[a], "name");
});

Deno.test("mcp.* covers them; rules decide on their arguments; a typo is an error", () => {
  const p = compilePolicy(`apiVersion: warden/v1
kind: Policy
name: t
default: deny
rules:
  - { id: all-mcp, effect: allow, action: "mcp.*" }
  - { id: small, effect: deny, action: mcp.sampling, when: { args.maxTokens: { gt: 100 } } }
`);
  for (const a of NEW) assertEquals(p.evaluate(req(a, { maxTokens: 10 })).effect, "allow", a);
  // A condition on an argument the request lacks fails closed (the engine's rule).
  assertEquals(p.evaluate(req("mcp.sampling")).rule, "small");
  assertEquals(p.evaluate(req("mcp.sampling", { maxTokens: 500 })).rule, "small");
  let err = "";
  try {
    compilePolicy(`apiVersion: warden/v1
kind: Policy
name: t
rules:
  - { id: x, effect: allow, action: mcp.sampeling }
`);
  } catch (e) {
    err = (e as Error).message;
  }
  assertMatch(err, /unknown action "mcp\.sampeling"/);
});

Deno.test("the ring's tools capability is their ceiling", () => {
  const rings = (tools: boolean) =>
    new RingCeilings({
      apiVersion: "warden/v1",
      kind: "Rings",
      rings: { 0: { tools }, 1: { tools }, 2: { tools }, 3: { tools } },
    } as never);
  for (const a of NEW) {
    assertEquals(rings(true).check(req(a)), null, `${a} within the tools ceiling`);
    assertEquals(rings(false).check(req(a))?.effect, "deny", `${a} above a ceiling without tools`);
  }
});
