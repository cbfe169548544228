/**
 * Data-loss rules, attacked: every built-in on a sample, and each evasion class — secrets split
 * across values, keys and lines; base64, hex and URL encodings; Unicode look-alikes and
 * invisible characters; nesting (objects, JSON in strings); keys as well as values; huge and
 * deep outputs (denied unscanned); deny over redact; no false positive on look-alike words.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { BUILTINS, OutputRules, OutputsSection } from "../../governance/outputs/mod.ts";

const rules = (o: unknown) => new OutputRules([OutputsSection.parse(o)]);
const redactAll = rules({ dlp: [{ id: "secrets", builtin: "all", effect: "redact" }] });

/** Fake, well-formed secrets (assembled so no scanner flags this file). */
export const SAMPLES: Record<string, string> = {
  private_key: "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\nq9Zk\n-----END RSA " +
    "PRIVATE KEY-----",
  aws_secret_access_key: "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" +
    "EXAMPLEKEY",
  aws_access_key_id: "AKIA" + "IOSFODNN7EXAMPLE",
  github_token: "ghp_" + "a1B2c3D4e5".repeat(4),
  slack_token: "xoxb-" + "1234567890-abcdefghij",
  anthropic_key: "sk-ant-" + "api03-" + "Ab3".repeat(10),
  openai_key: "sk-proj-" + "Zx9".repeat(10),
  google_api_key: "AIza" + "SyA-1234567890abcdefghijklmnopqrstu",
  stripe_key: "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
  jwt: "eyJhbGciOiJIUzI1NiJ9" +
    ".eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
  gcp_service_account: `{"type":"service_account","private_key_id":"${"ab12".repeat(10)}"}`,
  azure_storage_key: "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" +
    "A".repeat(86) + "==",
};

function leaves(v: unknown): string {
  return JSON.stringify(v);
}

Deno.test("every built-in detector finds its sample and names it", () => {
  for (const b of BUILTINS) {
    const sample = SAMPLES[b.name];
    assert(sample, `no sample for ${b.name}`);
    const v = redactAll.check("emit", { note: `see: ${sample} (end)` });
    assertEquals(v.effect, "redact", b.name);
    assertEquals(v.findings[0].detector, b.name, `${b.name}: ${v.reason}`);
    const core = sample.match(/[A-Za-z0-9/+]{8,}/g)!.at(-1)!;
    assert(!leaves(v.value).includes(core), `${b.name}: ${leaves(v.value)}`);
    assert(leaves(v.value).includes("[redacted:secrets]"), b.name);
  }
});

Deno.test("a raw match is redacted in place; the rest of the text stays", () => {
  const v = redactAll.check("emit", `token ${SAMPLES.github_token} here`);
  assertEquals(v.value, "token [redacted:secrets] here");
  assertEquals(v.findings.map((f) => [f.detector, f.view, f.path]), [["github_token", "raw", "$"]]);
  assert(/^[0-9a-f]{64}$/.test(v.findings[0].sha256));
});

Deno.test("split across values, array items and a key with its value: found and redacted", () => {
  const t = SAMPLES.github_token;
  for (
    const parts of [[t.slice(0, 10), t.slice(10)], [t.slice(0, 4), t.slice(4, 20), t.slice(20)]]
  ) {
    const v = redactAll.check("emit", { chunks: parts });
    assertEquals(v.effect, "redact");
    assert(!leaves(v.value).includes(t.slice(4, 20)), leaves(v.value));
    assertEquals(v.findings[0].view, "split");
  }
  const kv = redactAll.check("emit", { [t.slice(0, 16)]: t.slice(16) });
  assert(!leaves(kv.value).includes(t.slice(16)), leaves(kv.value));
  // A token after an ordinary word in the previous value is still a token.
  const after = redactAll.check("emit", ["hello", t.slice(0, 12), t.slice(12)]);
  assertEquals(after.effect, "redact");
});

Deno.test("split across lines (real or escaped newlines, with indentation): redacted", () => {
  const t = SAMPLES.github_token;
  for (
    const s of [`a\n${t.slice(0, 15)}\n  ${t.slice(15)}`, `x ${t.slice(0, 9)}\\n${t.slice(9)}`]
  ) {
    const v = redactAll.check("emit", s);
    assertEquals(v.effect, "redact", s);
    assertEquals(v.value, "[redacted:secrets]");
    assertEquals(v.findings[0].view, "compact");
  }
});

Deno.test("base64, base64url, hex and URL-encoded secrets are found", () => {
  const pem = SAMPLES.private_key;
  const hex = [...new TextEncoder().encode(SAMPLES.aws_access_key_id + " x")]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const url = [...SAMPLES.slack_token].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
  const cases: [string, string][] = [
    [`blob=${btoa(pem)};`, "encoded"],
    [
      btoa(SAMPLES.github_token).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
      "encoded",
    ],
    [`h:${hex}`, "encoded"],
    [`q=${url}`, "url"],
  ];
  for (const [s, view] of cases) {
    const v = redactAll.check("http.request", { url: "https://ok.example/", body: s });
    assertEquals(v.effect, "redact", s);
    assertEquals(v.findings[0].view, view, s);
  }
  // The encoded run is what goes: the text around it stays.
  const v = redactAll.check("emit", `blob=${btoa(pem)};`);
  assertEquals(v.value, "blob=[redacted:secrets];");
});

Deno.test("Unicode look-alikes and invisible characters are folded before matching", () => {
  const t = SAMPLES.github_token;
  const fullwidth = [...t].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join("");
  const cyrillic = SAMPLES.aws_access_key_id.replace("A", "\u0410").replace("K", "\u041a");
  const zeroWidth = t.slice(0, 8) + "\u200b" + t.slice(8, 20) + "\u2060" + t.slice(20);
  for (const s of [fullwidth, cyrillic, zeroWidth]) {
    const v = redactAll.check("emit", `value: ${s}`);
    assertEquals(v.effect, "redact", s);
    assertEquals(v.value, "[redacted:secrets]");
  }
});

Deno.test("nested values, JSON inside strings, and keys are all scanned", () => {
  const t = SAMPLES.openai_key;
  const deep = { a: [{ b: { c: [1, true, null, { d: t }] } }] };
  const v = redactAll.check("tool.result", deep);
  assertEquals(v.value, { a: [{ b: { c: [1, true, null, { d: "[redacted:secrets]" }] } }] });
  assertEquals(v.findings[0].path, "$.a[0].b.c[3].d");
  const inString = redactAll.check("emit", JSON.stringify({ k: SAMPLES.private_key }));
  assertEquals(inString.value, '{"k":"[redacted:secrets]"}');
  const key = redactAll.check("emit", { [t]: "v", other: 1 });
  assertEquals(key.value, { "[redacted:secrets]": "v", other: 1 });
  // The audited path never spells a key that matched.
  assertEquals(key.findings[0].path, "${key}");
  const under = redactAll.check("emit", { [t]: { x: t } });
  assert(under.findings.every((f) => !f.path.includes(t.slice(0, 12))), leaves(under.findings));
});

Deno.test("huge or deep outputs are denied unscanned (fail closed); cap set by policy", () => {
  const v = redactAll.check("emit", "x".repeat(4 * 1024 * 1024 + 1));
  assertEquals(v.effect, "deny");
  assert(/larger than 4194304 characters: not scanned/.test(v.reason), v.reason);
  const small = rules({ max_bytes: 100, dlp: [{ id: "s", builtin: "tokens", effect: "redact" }] });
  assertEquals(small.check("emit", ["a".repeat(60), "b".repeat(60)]).effect, "deny");
  let deep: unknown = "x";
  for (let i = 0; i < 200; i++) deep = [deep];
  assertEquals(redactAll.check("emit", deep).effect, "deny");
  // Under the cap: scanned, whatever it holds.
  assertEquals(small.check("emit", "a".repeat(90)).effect, "allow");
  // Counted as JSON text: a flood of empty strings is over the cap too.
  assertEquals(small.check("emit", new Array(60).fill("")).effect, "deny");
  assertEquals(small.check("emit", new Array(200).fill(1)).effect, "deny");
  assertEquals(small.check("emit", { a: new Array(200).fill(null) }).effect, "deny");
});

Deno.test("deny wins over redact; rules apply only on their channels", () => {
  const r = rules({
    dlp: [
      { id: "keys", builtin: ["private_key", "cloud"], effect: "redact" },
      { id: "corp", pattern: "corp-[0-9]+\\.internal", effect: "deny", on: ["http.request"] },
    ],
  });
  const both = { a: SAMPLES.aws_access_key_id, b: "db at corp-7.internal" };
  assertEquals(r.check("emit", both).effect, "redact");
  const d = r.check("http.request", both);
  assertEquals([d.effect, d.rule, d.value], ["deny", "corp", undefined]);
  assert(d.reason.includes('rule "corp"') && d.reason.includes("$.b"), d.reason);
  assertEquals(r.check("emit", SAMPLES.github_token).effect, "allow"); // tokens not named
});

Deno.test("look-alike words are not secrets", () => {
  for (
    const s of [
      "risk-assessment-framework-version-two-final",
      "task-runner-for-everything-in-this-repo",
      "the AKIA prefix alone",
      "eyJ is how base64 JSON starts",
      "sha256 " + "ab".repeat(32),
      "disk-\nassessmentframeworkversiontwofinal",
    ]
  ) {
    assertEquals(redactAll.check("emit", s).effect, "allow", s);
  }
});

Deno.test("custom patterns: case-insensitive flag, and a secret never in the finding", () => {
  const r = rules({
    dlp: [{
      id: "project",
      pattern: "project-(?:zeus|hera)",
      case_insensitive: true,
      effect: "deny",
    }],
  });
  const v = r.check("log", "status of PROJECT-ZEUS");
  assertEquals(v.effect, "deny");
  assert(!JSON.stringify(v).includes("ZEUS"));
});

Deno.test("schemas per output kind: a mismatch is denied, other kinds pass", () => {
  const r = rules({
    schemas: [{
      id: "report-shape",
      on: "emit",
      kind: "report",
      schema: {
        type: "object",
        properties: { kind: { type: "string" }, score: { type: "number", maximum: 10 } },
        required: ["kind", "score"],
        additionalProperties: false,
      },
    }, { id: "search", on: "tool.result", kind: "search", schema: { type: "array" } }],
  });
  assertEquals(r.check("emit", { kind: "report", score: 3 }).effect, "allow");
  const bad = r.check("emit", { kind: "report", score: 3, extra: "leak" });
  assertEquals([bad.effect, bad.rule], ["deny", "report-shape"]);
  assertEquals(r.check("emit", { kind: "other", x: 1 }).effect, "allow");
  assertEquals(r.check("tool.result", { not: "array" }, "search").effect, "deny");
  assertEquals(r.check("tool.result", { not: "array" }, "other").effect, "allow");
});

Deno.test("floods: thousands of false prefixes and many secrets are all handled", () => {
  const many = "task-x ".repeat(12_000) + SAMPLES.openai_key;
  const v = redactAll.check("emit", many);
  assertEquals(v.effect, "redact");
  assert((v.value as string).endsWith("[redacted:secrets]"));
  const tokens = Array.from({ length: 300 }, () => SAMPLES.github_token).join(" ");
  const t = redactAll.check("emit", tokens);
  assert(!(t.value as string).includes("ghp_"), "a token survived");
  assertEquals(t.findings.length, 100); // findings are capped; every match is still redacted
});

Deno.test("NULs between the letters (UTF-16 read byte for byte) do not hide a secret", () => {
  const t = SAMPLES.github_token;
  for (
    const s of [[...t].join("\0") + "\0", "\0" + [...t].join("\0"), `\xff\xfe${[...t].join("\0")}`]
  ) {
    const v = redactAll.check("emit", { body: s });
    assertEquals(v.effect, "redact", JSON.stringify(s));
    assertEquals(v.findings[0].view, "compact");
  }
  // A plain NUL-free string is untouched by the new reading.
  assertEquals(redactAll.check("emit", "a\0b").effect, "allow");
});
