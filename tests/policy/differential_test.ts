/**
 * Differential test: compiled engine == reference interpreter on random policies × random
 * requests (hostile strings included). Reproduce a run with WARDEN_SEED=<seed>.
 */
import fc from "fast-check";
import { stringify } from "yaml";
import { compilePolicy } from "../../governance/mod.ts";
import { referenceEvaluate } from "./reference.ts";

const POLICIES = Number(Deno.env.get("WARDEN_DIFF_POLICIES") ?? 2000);
const REQUESTS_PER_POLICY = 50;
const seed = Number(Deno.env.get("WARDEN_SEED") ?? Date.now() % 2 ** 31);

const ACTIONS = [
  "fs.read",
  "fs.write",
  "net.fetch",
  "net.connect",
  "tool.call",
  "env.get",
  "import",
];
const ACTION_PATTERNS = [...ACTIONS, "fs.*", "net.*", "*"];
const HOSTILE = [
  "",
  " ",
  "__proto__",
  "constructor",
  "toString",
  "GET",
  "get",
  "DELETE",
  "100",
  "0",
  "rm -rf /",
  "sudo rm -rf /home",
  "rm -r -f",
  "e\u0301",
  "\u00e9",
  "A\u030a",
  "\u212b",
  "İ",
  "ﬀ",
  "\u0000",
  "../..",
  "a".repeat(9000),
  "${workspace}",
  "%2e%2e",
  "api.github.com",
  "API.GITHUB.COM",
  "xn--bcher-kva.de",
  "bücher.de",
  "127.0.0.1",
  "2130706433",
  "0x7f.1",
  "::1",
  "[::ffff:127.0.0.1]",
  "10.1.2.3",
  "localhost",
  "shell",
  "search",
];
const SCALARS: unknown[] = [...HOSTILE, 0, -0, 1, 100, 1.5, -1, 1e308, true, false, null];
const HOSTILE_VALUES: unknown[] = [...SCALARS, [], ["GET"], ["rm", "-rf"], {}, { a: 1 }, [[]]];
const PATHS = [
  "/ws/a.txt",
  "/ws/sub/../b.txt",
  "/ws/../etc/passwd",
  "/etc/passwd",
  "/ws",
  "/ws/",
  "/wsx/a",
  "ws/a.txt",
  "a.txt",
  "../secret",
  "./x",
  "file:///ws/a.txt",
  "file:///etc/%2e%2e/x",
  "//ws//c",
  "/ws/e\u0301.txt",
  "/ws/\u00e9.txt",
  "/",
  "",
  "/ws/\u0000x",
  "/tmp/x.json",
];
const URLS = [
  "https://api.github.com/repos/x",
  "HTTPS://API.GITHUB.COM./repos",
  "https://a.com@api.github.com/",
  "http://2130706433/",
  "http://0x7f.1:80/x",
  "http://[::ffff:127.0.0.1]/",
  "http://[::1]:8080/",
  "https://bücher.de/",
  "https://xn--bcher-kva.de/",
  "https://evil.com/api.github.com",
  "http://10.0.0.1/",
  "not a url",
  "file:///ws/a.ts",
  "file:///etc/passwd",
  "https://api.github.com:443/",
  "ftp://x/",
  "https://api.github.com/%2e%2e/x",
];
const HOSTPORTS = [
  "127.0.0.1:80",
  "localhost:5432",
  "[::1]:22",
  "2130706433:80",
  "API.github.com:443",
  "a b:1",
  "10.0.0.1",
];
const NAMES = ["shell", "search", "HOME", "PATH", "git", "e\u0301", "\u00e9", "", "__proto__"];
const FIELDS = [
  "args.a",
  "args.b.c",
  // args.__proto__ / args.constructor are compile errors now (strict_keys_test.ts); requests
  // still carry those keys (see the request arbitraries below).
  "args.list.0",
  "agent.trust",
  "agent.name",
  "agent.labels.team",
  "context.x",
  "url.host",
  "url.scheme",
  "url.port",
  "url.path",
  "url.query",
  "path",
  "resource",
  "action",
];
const CIDRS = [
  "127.0.0.0/8",
  "10.0.0.0/8",
  "::1/128",
  "::ffff:0:0/96",
  "0.0.0.0/0",
  "192.168.1.1",
  "fe80::/10",
];
const REGEXES = [
  "^GET$",
  "\\brm\\s+-[a-z]*r[a-z]*f",
  "github",
  "^/ws/",
  "(a|b)+c",
  "^$",
  "[0-9]+",
  "É",
];
const GLOBS = [
  "/ws/**",
  "/ws/*.txt",
  "*.github.com",
  "**",
  "{GET,HEAD}",
  "[!a]*",
  "/ws/**/b.txt",
  "sh?ll",
  "api.*",
];
const STR_VALUES = [
  ...HOSTILE.slice(0, 30),
  "/ws",
  "/ws/a.txt",
  "/etc",
  "https",
  "http",
  "/repos/x",
  "${workspace}",
  "${agent.id}",
  "${context.x}",
  "${home}/a.txt",
  "${team}",
  "github.com",
  ".github.com",
];

const scalar = fc.constantFrom(...SCALARS);
const str = fc.constantFrom(...STR_VALUES);
const strOrList = fc.oneof(str, fc.array(str, { minLength: 1, maxLength: 3 }));

const leafArb = fc.tuple(
  fc.constantFrom(...FIELDS),
  fc.oneof(
    scalar.map((v) => ({ eq: v })),
    scalar.map((v) => ({ ne: v })),
    fc.array(scalar, { minLength: 1, maxLength: 3 }).map((v) => ({ in: v })),
    fc.array(scalar, { minLength: 1, maxLength: 3 }).map((v) => ({ not_in: v })),
    fc.constantFrom(0, 1, 100, 443, 500, -1).chain((n) =>
      fc.constantFrom({ lt: n }, { lte: n }, { gt: n }, { gte: n })
    ),
    fc.constantFrom(...REGEXES).map((v) => ({ matches: v })),
    fc.constantFrom(...GLOBS).map((v) => ({ glob: v })),
    strOrList.map((v) => ({ prefix: v })),
    strOrList.map((v) => ({ suffix: v })),
    scalar.map((v) => ({ contains: v })),
    fc.constantFrom("/ws", "/", "/etc", "${workspace}", "/ws/sub").map((v) => ({ within: v })),
    fc.array(fc.constantFrom(...CIDRS), { minLength: 1, maxLength: 2 }).map((v) => ({ cidr: v })),
    fc.boolean().map((v) => ({ exists: v })),
  ),
).map(([f, op]) => ({ [f]: op }));

const { cond } = fc.letrec((tie) => ({
  cond: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leafArb,
    fc.array(tie("cond"), { minLength: 1, maxLength: 3 }).map((c) => ({ all: c })),
    fc.array(tie("cond"), { minLength: 1, maxLength: 3 }).map((c) => ({ any: c })),
    tie("cond").map((c) => ({ not: c })),
  ),
}));

const resourceFor = (actions: string[]) => {
  const a = actions[0];
  if (a.startsWith("fs") || a === "fs.*") {
    return fc.constantFrom("/ws/a.txt", "/etc/passwd", "/ws/sub/../b.txt");
  }
  if (a === "net.fetch" || a === "net.*") {
    return fc.constantFrom("https://api.github.com/repos/x", "http://127.0.0.1/");
  }
  if (a === "net.connect") return fc.constantFrom("127.0.0.1:80", "localhost:5432");
  if (a === "import") return fc.constantFrom("file:///ws/a.ts", "https://api.github.com/");
  return fc.constantFrom(...NAMES.filter((n) => n !== ""));
};

/** Conditions that share an eq/in field, so the field index is exercised. */
const indexedCond = fc.tuple(
  fc.constantFrom("args.a", "url.host", "resource", "agent.name"),
  fc.oneof(
    scalar.map((v) => ({ eq: v })),
    fc.array(scalar, { minLength: 1, maxLength: 3 }).map((v) => ({ in: v })),
  ),
  fc.option(cond, { nil: undefined }),
).map(([f, op, rest]) => (rest ? { all: [{ [f]: op }, rest] } : { [f]: op }));

const ruleArb = fc.record({
  effect: fc.constantFrom("allow", "deny", "require_approval"),
  action: fc.oneof(
    fc.constantFrom(...ACTION_PATTERNS),
    fc.uniqueArray(fc.constantFrom(...ACTIONS), { minLength: 1, maxLength: 3 }),
  ),
  rings: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }), {
    nil: undefined,
  }),
  when: fc.option(fc.oneof(cond, indexedCond), { nil: undefined, freq: 4 }),
  withResource: fc.boolean(),
}).chain((r) => {
  const acts = typeof r.action === "string" ? [r.action] : r.action;
  const canKey = r.withResource && r.action !== "*" && r.action !== "fs.*" &&
    r.action !== "net.*" &&
    new Set(acts.map((a) => a.split(".")[0] + (a === "net.connect" ? "c" : ""))).size === 1;
  return (canKey ? resourceFor(acts).map((res) => ({ ...r, resource: res })) : fc.constant(r));
});

const policyArb = fc.record({
  default: fc.option(fc.constantFrom("allow", "deny", "require_approval"), { nil: undefined }),
  rules: fc.array(ruleArb, { minLength: 0, maxLength: 12 }),
  vars: fc.constant({ team: "search", home: "/ws" }),
}).map((p) => ({
  apiVersion: "warden/v1",
  kind: "Policy",
  name: "diff",
  ...(p.default ? { default: p.default } : {}),
  ...(p.vars ? { vars: p.vars } : {}),
  rules: p.rules.map(({ withResource: _w, ...r }, i) => {
    const out: Record<string, unknown> = { id: `r${String(i).padStart(2, "0")}`, ...r };
    for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
    return out;
  }),
}));

const argsArb = fc.dictionary(
  fc.constantFrom("a", "b", "__proto__", "constructor", "list", "method", "command"),
  fc.oneof(
    fc.constantFrom(...HOSTILE_VALUES),
    fc.dictionary(fc.constantFrom("c", "__proto__"), fc.constantFrom(...HOSTILE_VALUES), {
      maxKeys: 2,
    }),
  ),
  { maxKeys: 4 },
).map((d) => JSON.parse(JSON.stringify(d)));

const requestArb = fc.record({
  agent: fc.record({
    id: fc.constantFrom("did:key:z6MkA", "did:key:z6MkB"),
    name: fc.option(fc.constantFrom("researcher", "\u00e9", "__proto__"), { nil: undefined }),
    ring: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom<unknown>("2", null, 1.5)),
    trust: fc.option(
      fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constantFrom<unknown>("640", null)),
      { nil: undefined },
    ),
    labels: fc.option(fc.constant({ team: "search" }), { nil: undefined }),
  }, { requiredKeys: ["id", "ring"] }),
  action: fc.oneof(fc.constantFrom(...ACTIONS), fc.constantFrom("custom.thing", "run", "FS.READ")),
  pick: fc.nat(),
  args: fc.option(argsArb, { nil: undefined }),
  context: fc.option(
    fc.record({
      workspace: fc.constantFrom<unknown>("/ws", "/ws/", "relative", 5, "/"),
      x: fc.constantFrom<unknown>("/ws", "search", 1),
      cwd: fc.constantFrom<unknown>("/ws/sub", "/tmp"),
    }, { requiredKeys: [] }),
    { nil: undefined },
  ),
}).map(({ pick, ...r }) => {
  const pool = r.action.startsWith("fs")
    ? PATHS
    : r.action === "net.fetch" || r.action === "import"
    ? URLS
    : r.action === "net.connect"
    ? HOSTPORTS
    : NAMES;
  const out: Record<string, unknown> = { ...r, resource: pool[pick % pool.length] };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
});

const short = (_k: string, v: unknown) =>
  typeof v === "string" && v.length > 80 ? `${v.slice(0, 20)}…(${v.length} chars)` : v;

Deno.test(`compiled engine agrees with the reference interpreter (seed ${seed})`, () => {
  console.log(`differential seed: ${seed} (rerun with WARDEN_SEED=${seed})`);
  let cases = 0;
  let failure = "";
  const result = fc.check(
    fc.property(
      policyArb,
      fc.array(requestArb, { minLength: REQUESTS_PER_POLICY, maxLength: REQUESTS_PER_POLICY }),
      (doc, reqs) => {
        const text = stringify(doc);
        let compiled;
        try {
          compiled = compilePolicy(text, { path: "diff.yaml" });
        } catch (e) {
          failure = `policy did not compile: ${e instanceof Error ? e.message : e}\n${text}`;
          return false;
        }
        for (const req of reqs) {
          const got = compiled.evaluate(req);
          const want = referenceEvaluate([doc], req);
          cases++;
          if (got.effect !== want.effect || got.rule !== want.rule) {
            failure = `policy:\n${text}\nrequest: ${JSON.stringify(req, short)}\nengine: ${
              JSON.stringify(got)
            }\nreference: ${JSON.stringify(want)}`;
            return false;
          }
        }
        return true;
      },
    ),
    { seed, numRuns: POLICIES, endOnFailure: true },
  );
  if (result.failed) {
    throw new Error(`mismatch (seed ${seed}, path ${result.counterexamplePath}):\n${failure}`);
  }
  console.log(`differential cases: ${cases}`);
  if (cases < POLICIES * REQUESTS_PER_POLICY) throw new Error("fewer cases than required");
});
