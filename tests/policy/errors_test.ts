import { assertEquals } from "./asserts.ts";
import { compilePolicy, formatProblem, PolicyError } from "../../governance/mod.ts";

const HEAD = "apiVersion: warden/v1\nkind: Policy\nname: t\n";

function problems(text: string): string[] {
  try {
    compilePolicy(text, { path: "p.yaml" });
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    assertEquals(
      e.message.split("\n")[0],
      `${e.path}:${e.line}:${e.column}: ${e.problems[0].message}`,
    );
    return e.problems.map(formatProblem);
  }
  throw new Error("expected a PolicyError");
}

const one = (text: string, expected: string) => assertEquals(problems(text), [expected]);

Deno.test("empty file", () => {
  one("", "p.yaml:1:1: empty policy file");
  one("# only a comment\n", "p.yaml:1:1: empty policy file");
});

Deno.test("bad YAML names the position", () => {
  one(
    HEAD + "rules: [\n",
    "p.yaml:5:1: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]",
  );
  one(HEAD + "name: again\n", "p.yaml:4:1: YAML: Map keys must be unique");
});

Deno.test("not a mapping; wrong apiVersion; missing key", () => {
  one("- a\n", "p.yaml:1:1: a policy must be a mapping with apiVersion, kind, name and rules");
  one(
    HEAD.replace("warden/v1", "warden/v2") + "rules: []\n",
    'p.yaml:1:13: apiVersion: expected "warden/v1"',
  );
  one(
    HEAD + "rules:\n  - { effect: allow, action: fs.read }\n",
    'p.yaml:5:5: missing required key "id" in rules[0]',
  );
});

Deno.test("unknown keys are errors at the key", () => {
  one(HEAD + "rulez: []\n", 'p.yaml:4:1: unknown key "rulez"');
  one(
    HEAD + "rules:\n  - id: a\n    effect: allow\n    action: fs.read\n    whenn: {}\n",
    'p.yaml:8:5: unknown key "whenn" in rules[0]',
  );
});

Deno.test("unknown operator and wrong value types", () => {
  one(
    HEAD +
      "rules:\n  - id: a\n    effect: allow\n    action: fs.read\n    when: { path: { startswith: /x } }\n",
    'p.yaml:8:21: unknown operator "startswith" in rules[0].when.path (operators: eq, ne, in, not_in, lt, lte, gt, gte, matches, glob, prefix, suffix, contains, within, cidr, exists)',
  );
  one(
    HEAD +
      'rules:\n  - id: a\n    effect: allow\n    action: fs.read\n    when: { args.n: { lt: "10" } }\n',
    "p.yaml:8:27: rules[0].when.args.n.lt: expected a number",
  );
  one(
    HEAD + "rules:\n  - id: a\n    effect: permit\n    action: fs.read\n",
    'p.yaml:6:13: rules[0].effect: expected "allow", "deny" or "require_approval"',
  );
  one(
    HEAD + "rules:\n  - id: a\n    effect: allow\n    action: fs.read\n    rings: [4]\n",
    "p.yaml:8:13: rules[0].rings[0]: Too big: expected number to be <=3",
  );
});

Deno.test("duplicate rule id points at both places", () => {
  one(
    HEAD +
      "rules:\n  - { id: a, effect: allow, action: fs.read }\n  - { id: a, effect: deny, action: fs.read }\n",
    'p.yaml:6:11: duplicate rule id "a" (first defined at p.yaml:5:5)',
  );
});

Deno.test("invalid regex, glob and CIDR", () => {
  one(
    HEAD +
      'rules:\n  - { id: a, effect: deny, action: tool.call, when: { args.c: { matches: "(" } } }\n',
    'p.yaml:5:74: args.c matches: invalid regex "(": error parsing regexp: missing closing ): `(`',
  );
  one(
    HEAD +
      'rules:\n  - { id: a, effect: deny, action: tool.call, when: { args.c: { matches: "(a)\\\\1" } } }\n',
    'p.yaml:5:74: args.c matches: invalid regex "(a)\\\\1": error parsing regexp: invalid escape sequence: `\\1`',
  );
  one(
    HEAD +
      'rules:\n  - { id: a, effect: deny, action: tool.call, when: { args.c: { glob: "[ab" } } }\n',
    'p.yaml:5:71: args.c glob: invalid glob "[ab": unclosed "["',
  );
  one(
    HEAD +
      "rules:\n  - { id: a, effect: deny, action: net.fetch, when: { url.host: { cidr: 10.0.0.0/33 } } }\n",
    'p.yaml:5:73: url.host cidr: invalid CIDR "10.0.0.0/33": prefix length must be 0-32',
  );
  one(
    HEAD +
      "rules:\n  - { id: a, effect: deny, action: net.fetch, when: { url.host: { cidr: example.com } } }\n",
    'p.yaml:5:73: url.host cidr: invalid CIDR "example.com": "example.com" is not an IP address',
  );
});

Deno.test("unknown action, field and variable; reserved workspace var; bad resources", () => {
  one(
    HEAD + "rules:\n  - { id: a, effect: allow, action: fs.raed }\n",
    'p.yaml:5:37: rule "a": unknown action "fs.raed" (known: fs.read, fs.write, net.fetch, net.connect, env.get, run, ffi, sys, import, tool.call, saga.run, message.send, message.receive, output.emit, plugin.load, memory.read, memory.write, memory.delete, mcp.resource.read, mcp.prompt.get, mcp.sampling, mcp.elicitation, mcp.roots, or a wildcard like fs.*)',
  );
  one(
    HEAD + "rules:\n  - { id: a, effect: allow, action: fs.read, when: { foo.bar: { eq: 1 } } }\n",
    'p.yaml:5:54: unknown field "foo.bar": fields are action, resource, path, agent.*, args.*, context.* and url.{scheme,host,port,path,query}',
  );
  one(
    HEAD + "rules:\n  - { id: a, effect: allow, action: fs.read, when: { url.hots: { eq: 1 } } }\n",
    'p.yaml:5:54: unknown field "url.hots": url facets are url.scheme, url.host, url.port, url.path, url.query',
  );
  one(
    HEAD +
      'rules:\n  - { id: a, effect: allow, action: fs.read, when: { path: { within: "${home}" } } }\n',
    'p.yaml:5:70: path within: unknown variable "${home}" (known: workspace, agent.*, context.*)',
  );
  one(
    HEAD + "vars: { workspace: /x }\nrules: []\n",
    'p.yaml:4:9: vars: "workspace" is reserved: the host sets it for each agent',
  );
  one(
    HEAD + "rules:\n  - { id: a, effect: deny, action: fs.read, resource: etc/passwd }\n",
    'p.yaml:5:55: rule "a": resource "etc/passwd" is not a valid path for fs.read',
  );
});

Deno.test("empty and malformed conditions", () => {
  one(
    HEAD + "rules:\n  - { id: a, effect: allow, action: fs.read, when: {} }\n",
    "p.yaml:5:52: rules[0].when: a condition must not be empty",
  );
  one(
    HEAD + "rules:\n  - { id: a, effect: allow, action: fs.read, when: { all: [] } }\n",
    "p.yaml:5:59: all: expected a non-empty list of conditions",
  );
  one(
    HEAD + "rules:\n  - { id: a, effect: allow, action: fs.read, when: { path: /x } }\n",
    "p.yaml:5:60: path: expected a mapping of operators (eq, ne, in, not_in, lt, lte, gt, gte, matches, glob, prefix, suffix, contains, within, cidr, exists)",
  );
});

Deno.test("every problem is reported, not only the first", () => {
  const ps = problems(
    HEAD +
      "rules:\n  - { id: a, effect: allow, action: fs.raed }\n  - { id: b, effect: allow, action: fs.read, when: { x.y: { eq: 1 } } }\n",
  );
  assertEquals(ps.length, 2);
});

Deno.test("alias bombs are refused before they are walked", () => {
  const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 8; i++) {
    const p = String.fromCharCode(96 + i), n = String.fromCharCode(97 + i);
    levels.push(`${n}: &${n} [${Array(10).fill(`*${p}`).join(", ")}]`);
  }
  one(
    HEAD + levels.join("\n") + "\nrules: []\n",
    "p.yaml:1:1: policy expands to more than 1000000 nodes (alias bomb?)",
  );
});
