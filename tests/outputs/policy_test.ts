/**
 * The `outputs:` section of a policy: problems at file:line:col like any other policy error
 * (a bad RE2 pattern, an unknown built-in, an unknown key, a bad effect), and the rules a
 * loaded policy carries (from the file and its includes).
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { compilePolicy, PolicyError } from "../../governance/mod.ts";
import { outputRulesOf } from "../../governance/outputs/mod.ts";
import { loadPolicy } from "../../runtime/policy/loader.ts";

const HEAD = "apiVersion: warden/v1\nkind: Policy\nname: outputs\ndefault: allow\n";

function problem(yaml: string): string {
  try {
    compilePolicy(HEAD + yaml, { path: "p.yaml" });
  } catch (e) {
    assert(e instanceof PolicyError, String(e));
    return e.message.split("\n")[0];
  }
  throw new Error("compiled");
}

Deno.test("outputs: bad patterns, built-ins, keys and effects are positioned problems", () => {
  assertEquals(
    problem("outputs:\n  dlp:\n    - id: x\n      pattern: 'a(b'\n      effect: deny\n"),
    'p.yaml:8:16: outputs.dlp[0].pattern: invalid regex "a(b": error parsing regexp: ' +
      "missing closing ): `a(b`",
  );
  // Backreferences and lookaround are not RE2: refused, never run by a backtracking engine.
  assert(
    problem("outputs:\n  dlp:\n    - id: x\n      pattern: '(a)\\1'\n      effect: deny\n")
      .startsWith("p.yaml:8:16: outputs.dlp[0].pattern: invalid regex"),
  );
  assert(
    problem(
      "outputs:\n  dlp:\n    - id: x\n      builtin: [github_token, gitlab]\n      effect: redact\n",
    )
      .startsWith("p.yaml:8:31: outputs.dlp[0].builtin[1]: unknown built-in"),
  );
  assertEquals(
    problem("outputs:\n  dlp:\n    - id: x\n      builtin: all\n      effect: block\n"),
    'p.yaml:9:15: outputs.dlp[0].effect: expected "deny" or "redact"',
  );
  assertEquals(
    problem("outputs:\n  dlpp: []\n"),
    'p.yaml:6:3: unknown key "dlpp" in outputs',
  );
  assert(
    problem("outputs:\n  dlp:\n    - id: x\n      effect: deny\n").includes(
      "a dlp rule needs a builtin, a pattern, or both",
    ),
  );
  assert(problem("outputs:\n  max_bytes: 0\n").startsWith("p.yaml:6:14: outputs.max_bytes"));
});

Deno.test("a loaded policy carries its output rules, includes too; none without outputs:", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/main.yaml`,
      HEAD + "include: [dlp.yaml]\nrules: []\n",
    );
    await Deno.writeTextFile(
      `${dir}/dlp.yaml`,
      "apiVersion: warden/v1\nkind: Policy\nname: dlp\noutputs:\n  dlp:\n" +
        "    - id: no-tokens\n      builtin: tokens\n      effect: redact\n",
    );
    await Deno.writeTextFile(`${dir}/plain.yaml`, HEAD + "rules: []\n");
    const p = loadPolicy(`${dir}/main.yaml`);
    const token = "ghp_" + "Q".repeat(36);
    assertEquals(outputRulesOf(p).check("emit", token).value, "[redacted:no-tokens]");
    assert(outputRulesOf(loadPolicy(`${dir}/plain.yaml`)).idle("emit"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
