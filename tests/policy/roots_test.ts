/**
 * Issue 16 class 5: path roots written in policies are compared in the form requests are (the
 * runtime resolves requests through symlinks). The resolver is injected; here a fake one maps
 * `/var/run` to `/run` and `/ws/link` to `/elsewhere`.
 */
import { compilePolicy } from "../../governance/mod.ts";
import { globForms, prefixForms, rootForms } from "../../governance/policy/roots.ts";
import { assertEquals } from "./asserts.ts";
import { AGENT } from "./helpers.ts";

const LINKS: [string, string][] = [["/var/run", "/run"], ["/ws/link", "/elsewhere"]];
const calls: string[] = [];
const fake = (p: string): string => {
  calls.push(p);
  for (const [from, to] of LINKS) {
    if (p === from || p.startsWith(from + "/")) return to + p.slice(from.length);
  }
  return p;
};

function policy(rules: string, resolvePath?: (p: string) => string) {
  return compilePolicy(
    `apiVersion: warden/v1
kind: Policy
name: t
default: allow
rules:
${rules}`,
    { path: "t.yaml", resolvePath },
  );
}

const read = (resource: string, workspace = "/ws") => ({
  agent: AGENT,
  action: "fs.read",
  resource,
  context: { workspace },
});

const DENY_WITHIN = `  - id: no-private
    effect: deny
    action: fs.read
    when: { path: { within: ["/var/run/private", "\${workspace}/link/private"] } }
`;

Deno.test("roots: a within root written through a symlink matches the resolved request", () => {
  const p = policy(DENY_WITHIN, fake);
  assertEquals(p.evaluate(read("/run/private/key")).effect, "deny");
  assertEquals(p.evaluate(read("/run/private")).effect, "deny");
  // ...and still in the form written (a real directory there later is covered too).
  assertEquals(p.evaluate(read("/var/run/private/key")).effect, "deny");
  assertEquals(p.evaluate(read("/run/public/key")).effect, "allow");
  assertEquals(p.evaluate(read("/run/privateer")).effect, "allow");
});

Deno.test("roots: a within root with a variable resolves after substitution", () => {
  const p = policy(DENY_WITHIN, fake);
  assertEquals(p.evaluate(read("/elsewhere/private/x")).effect, "deny");
  assertEquals(p.evaluate(read("/ws/link/private/x")).effect, "deny");
  assertEquals(p.evaluate(read("/elsewhere/public/x")).effect, "allow");
});

Deno.test("roots: without a resolver roots match as written (the old contract)", () => {
  const p = policy(DENY_WITHIN);
  assertEquals(p.evaluate(read("/var/run/private/key")).effect, "deny");
  assertEquals(p.evaluate(read("/run/private/key")).effect, "allow");
});

Deno.test("roots: path prefixes resolve their directory part and keep partial names", () => {
  const p = policy(
    `  - id: no-sockets
    effect: deny
    action: fs.read
    when: { path: { prefix: ["/var/run/app", "/var/run/locks/"] } }
`,
    fake,
  );
  assertEquals(p.evaluate(read("/run/app.sock")).effect, "deny");
  assertEquals(p.evaluate(read("/run/app/x")).effect, "deny");
  assertEquals(p.evaluate(read("/run/locks/a")).effect, "deny");
  assertEquals(p.evaluate(read("/run/locksmith")).effect, "allow");
  assertEquals(p.evaluate(read("/run/other")).effect, "allow");
  assertEquals(prefixForms("/var/run/", fake), ["/var/run/", "/run/"]);
  assertEquals(prefixForms("/var/run", fake), ["/var/run"]); // the name part stays as written
  assertEquals(prefixForms("/usr/lib/", fake), ["/usr/lib/"]);
});

Deno.test("roots: literal file resources of a rule match in their resolved form", () => {
  const p = policy(
    `  - id: no-pid
    effect: deny
    action: [fs.read, fs.write]
    resource: /var/run/app.pid
`,
    fake,
  );
  assertEquals(p.evaluate(read("/run/app.pid")).effect, "deny");
  assertEquals(p.evaluate(read("/var/run/app.pid")).effect, "deny");
  assertEquals(p.evaluate(read("/run/other.pid")).effect, "allow");
});

Deno.test("roots: bare host variables are not resolved per request; static roots once", () => {
  calls.length = 0;
  const p = policy(
    `  - id: ws
    effect: deny
    action: fs.read
    when: { path: { within: ["\${workspace}", "/var/run/x"] } }
`,
    fake,
  );
  const atCompile = calls.length;
  assertEquals(atCompile, 1);
  assertEquals(p.evaluate(read("/ws/a")).effect, "deny");
  assertEquals(p.evaluate(read("/run/x/y")).effect, "deny");
  assertEquals(calls.length, atCompile);
  assertEquals(rootForms("/var/run", fake), ["/var/run", "/run"]);
  assertEquals(rootForms("/etc", fake), ["/etc"]);
});

Deno.test("roots: a throwing resolver leaves the root as written (fail closed for denies)", () => {
  const p = policy(DENY_WITHIN, () => {
    throw new Error("io");
  });
  assertEquals(p.evaluate(read("/var/run/private/key")).effect, "deny");
});

Deno.test("roots: a path glob's literal leading directories resolve; relative globs stay", () => {
  const p = policy(
    `  - id: no-socks
    effect: deny
    action: fs.read
    when: { path: { glob: ["/var/run/**/*.sock", "**/.env"] } }
`,
    fake,
  );
  assertEquals(p.evaluate(read("/run/a/b.sock")).effect, "deny");
  assertEquals(p.evaluate(read("/var/run/a/b.sock")).effect, "deny");
  assertEquals(p.evaluate(read("/run/a/b.txt")).effect, "allow");
  assertEquals(p.evaluate(read("/elsewhere/.env")).effect, "deny");
  assertEquals(globForms("/var/run/*.sock", fake), ["/var/run/*.sock", "/run/*.sock"]);
  assertEquals(globForms("/var/run/app.pid", fake), ["/var/run/app.pid", "/run/app.pid"]);
  assertEquals(globForms("/*/run/x", fake), ["/*/run/x"]);
  assertEquals(globForms("**/.env", fake), ["**/.env"]);
});

Deno.test("roots: literal paths in eq/in/ne/not_in match in their resolved form too", () => {
  const p = policy(
    `  - id: no-pid
    effect: deny
    action: fs.read
    when: { path: { in: ["/var/run/app.pid"] } }
  - id: only-sock
    effect: deny
    action: fs.write
    when: { path: { ne: "/var/run/app.sock" } }
`,
    fake,
  );
  assertEquals(p.evaluate(read("/run/app.pid")).effect, "deny");
  assertEquals(p.evaluate(read("/run/other.pid")).effect, "allow");
  const write = (resource: string) => ({ ...read(resource), action: "fs.write" });
  assertEquals(p.evaluate(write("/run/app.sock")).effect, "allow");
  assertEquals(p.evaluate(write("/var/run/app.sock")).effect, "allow");
  assertEquals(p.evaluate(write("/run/other")).effect, "deny");
});
