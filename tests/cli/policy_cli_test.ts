import { assertEquals } from "../policy/asserts.ts";
import { runDeno } from "./run.ts";

const policy = (...args: string[]) => runDeno(["task", "-q", "policy", ...args]);
const REQ = JSON.stringify({
  agent: { id: "did:key:z6Mk", ring: 2 },
  action: "net.fetch",
  resource: "https://api.github.com/repos/denoland/deno",
  args: { method: "GET" },
});

function noStack(s: string) {
  if (/\bat .*:\d+:\d+/.test(s) || s.includes("Stack backtrace")) {
    throw new Error(`stack trace in:\n${s}`);
  }
}

Deno.test("policy check: ok exits 0; problems exit 1 with file:line:col and no stack trace", async () => {
  const ok = await policy("check", "policies/research.yaml");
  assertEquals(ok.code, 0);
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/bad.yaml`,
    "apiVersion: warden/v1\nkind: Policy\nname: x\nrules:\n  - { id: a, effect: allow, action: fs.raed }\n",
  );
  const bad = await policy("check", `${dir}/bad.yaml`);
  assertEquals(bad.code, 1);
  if (!bad.stderr.startsWith(`${dir}/bad.yaml:5:37: rule "a": unknown action "fs.raed"`)) {
    throw new Error(bad.stderr);
  }
  noStack(bad.stderr);
  const missing = await policy("check", `${dir}/nope.yaml`);
  assertEquals([missing.code, missing.stderr.trim()], [
    1,
    `${dir}/nope.yaml:1:1: no such file or directory`,
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("policy check accepts a directory", async () => {
  const r = await policy("check", "policies/");
  assertEquals(r.code, 0);
});

Deno.test("policy eval prints the Decision JSON; stdin works; malformed request exits 1", async () => {
  const r = await policy("eval", "policies/research.yaml", "-");
  assertEquals(r.code, 1); // no stdin given: empty input is not JSON (a malformed file, issue 18)
  const ok = await runDeno(["task", "-q", "policy", "eval", "policies/research.yaml", "-"], REQ);
  assertEquals(ok.code, 0);
  assertEquals(JSON.parse(ok.stdout), {
    effect: "allow",
    rule: "github-api",
    reason: 'allowed by rule "github-api"',
  });
  const bad = await runDeno(
    ["task", "-q", "policy", "eval", "policies/research.yaml", "-"],
    "{not json",
  );
  assertEquals(bad.code, 1); // a malformed file is exit 1 (issue 18)
  if (!bad.stderr.includes("request is not valid JSON")) throw new Error(bad.stderr);
  noStack(bad.stderr);
  const shape = await runDeno(
    ["task", "-q", "policy", "eval", "policies/research.yaml", "-"],
    '{"agent":{"id":"x"},"action":"fs.read"}',
  );
  assertEquals(shape.code, 1);
  if (!shape.stderr.includes("invalid ActionRequest")) throw new Error(shape.stderr);
});

Deno.test("policy explain lists each rule and condition", async () => {
  const r = await runDeno(["task", "-q", "policy", "explain", "policies/research.yaml", "-"], REQ);
  assertEquals(r.code, 0);
  for (
    const s of ["decision: allow by github-api", "MATCH allow", '✓ url.host in ["api.github.com"]']
  ) {
    if (!r.stdout.includes(s)) throw new Error(`missing ${s} in\n${r.stdout}`);
  }
  const j = await runDeno([
    "task",
    "-q",
    "policy",
    "explain",
    "policies/research.yaml",
    "-",
    "--json",
  ], REQ);
  assertEquals(JSON.parse(j.stdout).decision.rule, "github-api");
});

Deno.test("usage errors exit 2", async () => {
  const r = await policy("frobnicate");
  assertEquals(r.code, 2);
  noStack(r.stderr);
});

Deno.test("policy check and eval accept .cedar files, alone and beside YAML", async () => {
  const ok = await policy("check", "examples/cedar/research.cedar");
  assertEquals([ok.code, ok.stdout.trim()], [
    0,
    "ok: 0 rules and 5 Cedar policies in 1 file(s); default deny",
  ]);
  const secret = JSON.stringify({
    agent: { id: "a", ring: 2 },
    action: "fs.read",
    resource: "/workspace/secret.md",
  });
  const both = await runDeno(
    [
      "task",
      "-q",
      "policy",
      "eval",
      "policies/research.yaml",
      "examples/cedar/research.cedar",
      "-",
    ],
    secret,
  );
  assertEquals(both.code, 0);
  assertEquals(JSON.parse(both.stdout).rule, "no-secrets");
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/bad.cedar`,
    '// typo below\npermit (principal, action == Action::"fs.reed", resource);\n',
  );
  const bad = await policy("check", `${dir}/bad.cedar`);
  assertEquals(bad.code, 1);
  if (!bad.stderr.startsWith(`${dir}/bad.cedar:2:`) || !bad.stderr.includes("fs.reed")) {
    throw new Error(bad.stderr);
  }
  noStack(bad.stderr);
  await Deno.remove(dir, { recursive: true });
});
