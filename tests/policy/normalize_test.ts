import { assertEquals } from "./asserts.ts";
import { normalizePath, urlFacets } from "../../governance/mod.ts";
import { compilePolicy } from "../../governance/mod.ts";
import { effect, req, ruleWhen } from "./helpers.ts";

Deno.test("paths: absolute, . and .. resolved, never above /, slashes collapsed, NFC", () => {
  assertEquals(normalizePath("/a/./b/../c"), "/a/c");
  assertEquals(normalizePath("/../../etc/passwd"), "/etc/passwd");
  assertEquals(normalizePath("//a//b/"), "/a/b");
  assertEquals(normalizePath("rel/x", "/ws"), "/ws/rel/x");
  assertEquals(normalizePath("../x", "/ws"), "/x");
  assertEquals(normalizePath("rel"), null);
  assertEquals(normalizePath("/a\0b"), null);
  assertEquals(normalizePath("file:///ws/a%20b.txt"), "/ws/a b.txt");
  assertEquals(normalizePath("file://evil.com/x"), null);
  assertEquals(normalizePath("/e\u0301"), "/\u00e9");
});

Deno.test("URLs: WHATWG parsing, lowercase hosts, IDNA, IPv4 spellings, trailing dots, default ports", () => {
  const f = urlFacets("HTTPS://API.GitHub.COM./a/./b/../c?x=1")!;
  assertEquals([f.scheme, f.host, f.port, f.path, f.query], [
    "https",
    "api.github.com",
    443,
    "/a/c",
    "x=1",
  ]);
  assertEquals(urlFacets("http://2130706433/")!.host, "127.0.0.1");
  assertEquals(urlFacets("http://0x7f.1/")!.host, "127.0.0.1");
  assertEquals(urlFacets("http://0177.0.0.1/")!.host, "127.0.0.1");
  assertEquals(urlFacets("https://a.com@b.com/")!.host, "b.com");
  assertEquals(urlFacets("http://[0:0:0:0:0:0:0:1]:8080/")!.host, "::1");
  assertEquals(urlFacets("http://[0:0:0:0:0:0:0:1]:8080/")!.port, 8080);
  assertEquals(urlFacets("https://Bücher.de/")!.host, "xn--bcher-kva.de");
  assertEquals(urlFacets("http://x:80/")!.port, 80);
  assertEquals(urlFacets("not a url"), null);
});

Deno.test("policy host values are normalized like request hosts", () => {
  const p = ruleWhen("net.fetch", '{ url.host: { in: ["API.GitHub.com.", "Bücher.DE"] } }');
  assertEquals(effect(p, req("net.fetch", "https://api.github.com/x")), "allow");
  assertEquals(effect(p, req("net.fetch", "https://xn--bcher-kva.de/")), "allow");
  const s = ruleWhen("net.fetch", '{ url.host: { suffix: ".GitHub.com" } }');
  assertEquals(effect(s, req("net.fetch", "https://API.GITHUB.COM/")), "allow");
  assertEquals(effect(s, req("net.fetch", "https://github.com.evil.io/")), "deny");
});

Deno.test("userinfo cannot smuggle a host; IPv4 spellings cannot dodge a cidr deny", () => {
  const p = compilePolicy(`apiVersion: warden/v1
kind: Policy
name: t
rules:
  - { id: web, effect: allow, action: net.fetch }
  - id: no-loopback
    effect: deny
    action: net.fetch
    when: { url.host: { cidr: ["127.0.0.0/8", "::1/128"] } }
  - id: gh-only
    effect: allow
    action: net.connect
    when: { url.host: { eq: api.github.com } }
`);
  for (
    const u of [
      "http://2130706433/",
      "http://0x7f.1/",
      "http://127.1/",
      "http://[::ffff:127.0.0.1]/",
      "http://[::1]/",
      "http://evil.com@127.0.0.1/",
    ]
  ) {
    assertEquals(p.evaluate(req("net.fetch", u)).rule, "no-loopback", u);
  }
  assertEquals(effect(p, req("net.fetch", "https://api.github.com@evil.com/")), "allow");
  assertEquals(effect(p, req("net.connect", "API.GITHUB.COM:443")), "allow");
});

Deno.test("fs resources: relative paths resolve against context.cwd, then the workspace; else unknown", () => {
  const p = ruleWhen("fs.read", '{ path: { within: "${workspace}" } }');
  const ctx = { context: { workspace: "/ws" } };
  assertEquals(effect(p, req("fs.read", "a.txt", undefined, ctx)), "allow");
  assertEquals(effect(p, req("fs.read", "../etc/passwd", undefined, ctx)), "deny");
  assertEquals(
    effect(p, req("fs.read", "a.txt", undefined, { context: { workspace: "/ws", cwd: "/tmp" } })),
    "deny",
  );
  assertEquals(effect(p, req("fs.read", "a.txt")), "deny");
  const d = ruleWhen("fs.read", '{ path: { within: "/secret" } }', "deny");
  assertEquals(d.evaluate(req("fs.read", "a.txt")).rule, "r"); // unknown path: deny fires
});

Deno.test("Unicode NFC: decomposed and composed forms compare equal", () => {
  const p = ruleWhen("tool.call", '{ args.name: { eq: "caf\u00e9" } }');
  assertEquals(effect(p, req("tool.call", "x", { name: "cafe\u0301" })), "allow");
  const r = compilePolicy(`apiVersion: warden/v1
kind: Policy
name: t
rules:
  - { id: r, effect: deny, action: fs.read, resource: "/ws/caf\u00e9" }
`);
  assertEquals(effect(r, req("fs.read", "/ws/./cafe\u0301")), "deny");
});

Deno.test("exact resources are normalized per action kind before indexing", () => {
  const p = compilePolicy(`apiVersion: warden/v1
kind: Policy
name: t
default: allow
rules:
  - { id: no-shadow, effect: deny, action: [fs.read, fs.write], resource: /etc/shadow }
  - { id: no-meta, effect: deny, action: net.fetch, resource: "http://169.254.169.254/latest" }
  - { id: no-db, effect: deny, action: net.connect, resource: "LOCALHOST:5432" }
`);
  assertEquals(p.evaluate(req("fs.read", "/etc/./x/../shadow")).rule, "no-shadow");
  assertEquals(p.evaluate(req("fs.write", "//etc//shadow")).rule, "no-shadow");
  assertEquals(p.evaluate(req("net.fetch", "HTTP://2852039166/latest")).rule, "no-meta");
  assertEquals(p.evaluate(req("net.connect", "localhost:5432")).rule, "no-db");
  // A resource that cannot be normalized still meets keyed deny rules (fail closed).
  assertEquals(p.evaluate(req("fs.read", "relative")).rule, "no-shadow");
  assertEquals(p.evaluate(req("net.fetch", "::not a url")).rule, "no-meta");
});
