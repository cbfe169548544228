/**
 * The resource URI normalizer (governance/policy/uri.ts) and the policy engine's `uri`
 * resource kind (mcp.resource.read): each re-spelling has one canonical form, the form is a
 * fixed point, refused input stays refused, and policy values are compared in the same form.
 */
import fc from "fast-check";
import { assert, assertEquals } from "../policy/asserts.ts";
import {
  compilePolicy,
  normalizeUri,
  templateMayMatch,
  templateShape,
} from "../../governance/mod.ts";

const ok = (input: string): string => {
  const r = normalizeUri(input);
  assert(r.ok, `${JSON.stringify(input)}: ${r.ok ? "" : r.reason}`);
  return r.uri;
};
const refused = (input: string): string => {
  const r = normalizeUri(input);
  assert(!r.ok, `${JSON.stringify(input)} should be refused, got ${r.ok ? r.uri : ""}`);
  return r.reason;
};

Deno.test("uri: re-spellings of one resource have one canonical form", () => {
  const cases: [string, string][] = [
    ["DEMO://docs/secret/key", "demo://docs/secret/key"],
    ["demo://DOCS/secret/key", "demo://docs/secret/key"],
    ["demo://docs/public/../secret/key", "demo://docs/secret/key"],
    ["demo://docs/public/%2e%2E/secret/key", "demo://docs/secret/key"],
    ["demo://docs/%73ecret/%6b%65%79", "demo://docs/secret/key"],
    ["demo://docs/./secret//key", "demo://docs/secret/key"],
    ["demo://docs/secret/key#frag", "demo://docs/secret/key"],
    ["demo://docs/../../../secret/key", "demo://docs/secret/key"],
    ["file://localhost/etc/passwd", "file:///etc/passwd"],
    ["file://LocalHost/etc/passwd", "file:///etc/passwd"],
    ["file:/etc/passwd", "file:///etc/passwd"],
    ["file:////etc//passwd", "file:///etc/passwd"],
    ["FILE:///etc/./passwd", "file:///etc/passwd"],
    ["https://API.example.com:443/a/./b/../c", "https://api.example.com/a/c"],
    ["http://example.com:0080", "http://example.com/"],
    ["https://example.com:", "https://example.com/"],
    ["http://[::1]:80/x", "http://[::1]/x"],
    ["demo://docs/a b/é", "demo://docs/a%20b/%C3%A9"],
    ["demo://docs/%c3%a9", "demo://docs/%C3%A9"],
    ["demo://docs/e\u0301", "demo://docs/%C3%A9"], // NFC first
    ["demo://docs/x?q=%7e%41&r=%2f", "demo://docs/x?q=~A&r=%2F"],
    ["demo://docs/x?", "demo://docs/x"],
    ["notes://count", "notes://count"],
    ["notes://count/", "notes://count/"],
    ["demo://docs/dir/.", "demo://docs/dir/"],
    ["urn:isbn:0451450523", "urn:isbn:0451450523"],
    ["demo:a/../b", "demo:b"],
  ];
  for (const [input, want] of cases) assertEquals(ok(input), want, input);
});

Deno.test("uri: what cannot be normalized without guessing is refused", () => {
  const cases: [string, RegExp][] = [
    ["demo://docs/a%2Fb", /encoded slash/],
    ["demo://docs/a%2fb", /encoded slash/],
    ["demo://docs/a%5Cb", /encoded backslash/],
    ["demo://docs/a\\b", /backslash/],
    ["demo://docs/%zz", /invalid percent-encoding/],
    ["demo://docs/%4", /invalid percent-encoding/],
    ["demo://docs/%", /invalid percent-encoding/],
    ["demo://docs/a%00", /control/],
    ["demo://docs/a%0d%0a", /control/],
    ["demo://docs/a%7F", /control/],
    ["demo://docs/a\u0000", /control/],
    ["demo://docs/a\t", /control/],
    ["demo://docs/a\u0085", /control/],
    ["demo://docs/\ud800", /surrogate/],
    ["demo://user:pw@docs/x", /user information/],
    ["demo://do%zzcs/x", /invalid percent-encoding/],
    ["demo://d%C3%A9/x", /host/],
    ["demo://dé/x", /host/],
    ["demo://docs:x/y", /port/],
    ["file:etc/passwd", /relative file/],
    ["file:///etc/passwd?x", /query in a file/],
    ["docs/secret", /no scheme/],
    ["1demo://x", /no scheme/],
    ["", /empty/],
    ["demo://docs/" + "a".repeat(9000), /longer than/],
    ["demo://docs/x?a=%00", /control/],
  ];
  for (const [input, why] of cases) {
    const reason = refused(input);
    assert(why.test(reason), `${JSON.stringify(input)}: ${reason} !~ ${why}`);
  }
});

Deno.test("uri: the canonical form is a fixed point and never holds what is refused", () => {
  const piece = fc.constantFrom(
    "/",
    "//",
    ".",
    "..",
    "%2e",
    "%2E",
    "%2e%2e",
    "%2F",
    "%41",
    "%7e",
    "%zz",
    "%",
    "a",
    "B",
    "é",
    " ",
    "?",
    "#",
    "@",
    ":",
    "localhost",
    "LOCALHOST",
    "\\",
    "%00",
    "\u0000",
    "~",
    "%25",
  );
  const uri = fc.tuple(
    fc.constantFrom("demo:", "DEMO:", "file:", "FILE:", "https:", "urn:", "x-y.z+w:"),
    fc.array(piece, { maxLength: 12 }),
  ).map(([s, p]) => s + p.join(""));
  fc.assert(
    fc.property(uri, (input) => {
      const r = normalizeUri(input);
      if (!r.ok) return true;
      const again = normalizeUri(r.uri);
      assert(again.ok && again.uri === r.uri, `${input} -> ${r.uri} -> ${JSON.stringify(again)}`);
      // deno-lint-ignore no-control-regex
      assert(!/[\x00-\x20\\#]|%00/i.test(r.uri), r.uri);
      const path = r.uri.split("?")[0].replace(/^[a-z][a-z0-9+.-]*:(\/\/[^/]*)?/, "");
      assert(!/%2F|%5C|\/\/|(^|\/)\.\.?(\/|$)/i.test(path), `${r.uri}: path ${path}`);
      assert(r.uri === r.uri.normalize("NFC"));
      return true;
    }),
    { numRuns: 3000 },
  );
});

Deno.test("uri: templates match the URIs they could expand to (conservatively)", () => {
  assert(templateMayMatch("demo://docs/public/{name}", "demo://docs/public/a"));
  assert(templateMayMatch("DEMO://docs//public/{name}", "demo://docs/public/a"));
  assert(templateMayMatch("file:///srv/{+path}", "file:///srv/a/b"));
  assert(!templateMayMatch("demo://docs/secret/{name}", "demo://docs/public/a"));
  assert(!templateMayMatch("other://{x}", "demo://docs/public/a"));
  assert(templateMayMatch("demo://docs/public/a", "demo://docs/public/a"));
  assert(!templateMayMatch("demo://docs/public/b", "demo://docs/public/a"));
});

Deno.test("uri: mcp.resource.read rules and conditions compare normalized URIs", () => {
  const p = compilePolicy(`apiVersion: warden/v1
kind: Policy
name: uris
default: deny
rules:
  - { id: all, effect: allow, action: mcp.resource.read }
  - { id: secret, effect: deny, action: mcp.resource.read, resource: "DEMO://Docs/secret/key" }
  - id: private
    effect: deny
    action: mcp.resource.read
    when: { resource: { prefix: "file://localhost/srv/private/" } }
  - id: named
    effect: deny
    action: mcp.resource.read
    when: { resource: { in: ["demo://docs//other"] } }
`);
  const decide = (resource: string) =>
    p.evaluate({ agent: { id: "a", ring: 2 }, action: "mcp.resource.read", resource }).rule;
  assertEquals(decide("demo://docs/secret/key"), "secret");
  assertEquals(decide("demo://docs/public/%2e%2e/secret/key"), "secret");
  assertEquals(decide("file:/srv/private/x"), "private");
  assertEquals(decide("FILE:///srv/./private/x"), "private");
  assertEquals(decide("demo://DOCS/other"), "named");
  assertEquals(decide("demo://docs/public/a"), "all");
  // What cannot be normalized matches no literal, and a condition on it is unknown: a deny
  // rule with one fires.
  assertEquals(
    p.evaluate({
      agent: { id: "a", ring: 2 },
      action: "mcp.resource.read",
      resource: "demo://docs/secret%2Fkey",
    }).effect,
    "deny",
  );
  // A literal that is not a URI is a policy error with its location.
  let err = "";
  try {
    compilePolicy(
      `apiVersion: warden/v1
kind: Policy
name: bad
rules:
  - { id: x, effect: deny, action: mcp.resource.read, resource: "no scheme here" }
`,
      { path: "bad.yaml" },
    );
  } catch (e) {
    err = String(e);
  }
  assert(
    /bad\.yaml:5:\d+: .*"no scheme here" is not a valid uri for mcp\.resource\.read/.test(err),
    err,
  );
});

Deno.test("uri: escaped UTF-8 is one spelling; double encoding and bad UTF-8 are refused", () => {
  assertEquals(ok("demo://docs/caf%C3%A9"), "demo://docs/caf%C3%A9");
  assertEquals(ok("demo://docs/café"), "demo://docs/caf%C3%A9");
  assertEquals(ok("demo://docs/cafe%CC%81"), "demo://docs/caf%C3%A9"); // NFC after decoding
  assertEquals(ok("demo://docs/caf%c3%a9"), "demo://docs/caf%C3%A9");
  assertEquals(ok("demo://docs./x"), "demo://docs/x");
  assert(/encoded escape/.test(refused("demo://docs/%252e%252e/secret")));
  assert(/encoded escape/.test(refused("demo://docs/%25%34%31")));
  assert(/encoded escape/.test(refused("demo://docs/%25%41B")));
  assert(/not UTF-8/.test(refused("demo://docs/%C0%AE%C0%AE/secret"))); // overlong "."
  assert(/not UTF-8/.test(refused("demo://docs/%FF")));
  assert(/control/.test(refused("demo://docs/a%C2%85b"))); // C1 control, encoded
});

Deno.test("uri: a template's literal text is compared in normalized form too", () => {
  assert(templateMayMatch("DEMO://docs/public/../secret/{name}", "demo://docs/secret/key"));
  assert(templateMayMatch("demo://docs/%73ecret/{name}", "demo://docs/secret/key"));
  assert(!templateMayMatch("demo://docs/public/../public/{name}", "demo://docs/secret/key"));
});

Deno.test("uri: a hostile template cannot stall the host (no backtracking)", () => {
  const template = "demo://" + "{a}x".repeat(500);
  const uri = "demo://" + "x".repeat(8000) + "y";
  // A backtracking matcher would not finish this in hours; a linear scan does at once.
  assert(!templateMayMatch(template, uri));
  assert(templateMayMatch(template, "demo://" + "x".repeat(600)));
  assert(templateMayMatch("demo://a/{x}/..", "demo://a/"));
});

const SHAPE_POLICIES = [
  `apiVersion: warden/v1
kind: Policy
name: by-prefix
default: deny
rules:
  - { id: pub, effect: allow, action: mcp.resource.read, when: { resource: { prefix: "demo://docs/public/" } } }
`,
  `apiVersion: warden/v1
kind: Policy
name: deny-prefix
default: allow
rules:
  - { id: sec, effect: deny, action: mcp.resource.read, when: { resource: { prefix: "demo://docs/secret/" } } }
`,
  `apiVersion: warden/v1
kind: Policy
name: by-list
default: deny
rules:
  - id: two
    effect: allow
    action: mcp.resource.read
    when: { any: [{ resource: { in: ["demo://docs/public/a", "file:///srv/x.txt"] } }, { resource: { suffix: ".md" } }] }
  - { id: not-b, effect: deny, action: mcp.resource.read, when: { not: { resource: { ne: "demo://docs/public/b" } } } }
`,
];

Deno.test("uri: a template is listed when, and only when, its shape could be allowed", () => {
  const [byPrefix, denyPrefix, byList] = SHAPE_POLICIES.map((t) => compilePolicy(t));
  const could = (p: typeof byPrefix, template: string) =>
    p.couldAllow(
      { agent: { id: "a", ring: 2 }, action: "mcp.resource.read", resource: template },
      undefined,
      templateShape(template),
    );
  assert(could(byPrefix, "demo://docs/public/{name}"));
  assert(could(byPrefix, "DEMO://docs/{dir}/x")); // dir may be "public"
  assert(!could(byPrefix, "demo://docs/secret/{name}"));
  assert(!could(byPrefix, "other://{x}"));
  assert(could(denyPrefix, "demo://docs/{dir}"));
  assert(!could(denyPrefix, "demo://docs/secret/{name}"));
  assert(!could(denyPrefix, "demo://docs/public/../secret/{name}"));
  assert(could(byList, "demo://docs/public/{name}"));
  assert(could(byList, "file:///srv/{f}"));
  assert(could(byList, "notes://{x}.md"));
  assert(!could(byList, "notes://{x}.txt"));
  assert(!could(byList, "demo://docs/public/b"));
});

Deno.test("uri: a template's shape never hides a URI it describes that is allowed (property)", () => {
  const policies = SHAPE_POLICIES.map((t) => compilePolicy(t));
  const lit = fc.constantFrom(
    "demo://",
    "DEMO://",
    "docs/",
    "public/",
    "secret/",
    "a",
    "/",
    ".md",
    "file:///srv/",
    "x.txt",
  );
  const value = fc.constantFrom("a", "b", "public", "secret", "x.txt", "p/q", "public/a", "c.md");
  fc.assert(
    fc.property(
      fc.array(fc.oneof(lit, fc.constant("{v}")), { minLength: 1, maxLength: 6 }),
      fc.array(value, { minLength: 6, maxLength: 6 }),
      (pieces, vals) => {
        const template = pieces.join("");
        let k = 0;
        const uri = pieces.map((p) => (p === "{v}" ? vals[k++] : p)).join("");
        const n = normalizeUri(uri);
        if (!n.ok) return true;
        for (const p of policies) {
          const req = { agent: { id: "a", ring: 2 }, action: "mcp.resource.read", resource: n.uri };
          if (p.evaluate(req).effect !== "allow") continue;
          const shown = p.couldAllow(
            { ...req, resource: template },
            undefined,
            templateShape(template),
          );
          assert(shown, `${p.names[0]}: ${template} hidden, but ${n.uri} is allowed`);
        }
        return true;
      },
    ),
    { numRuns: 2000 },
  );
});
