/** Controls judged by test results: the escape suite and the whole suite (JUnit reports). */
import { join } from "node:path";
import type { ControlResult } from "../../governance/compliance/mod.ts";
import type { AddResult, ComplianceInputs } from "./checks.ts";

/** Warden's test suite (every `*_test.ts` under it must be in the results). */
export const TESTS_ROOT = new URL("../../tests", import.meta.url).pathname;

/** The adversarial escape suite shipped with Warden. */
export const ESCAPE_SUITE = new URL("../../tests/host/escape_test.ts", import.meta.url).pathname;

/** Pass/fail counts and names from a JUnit report. */
export function junitSummary(
  xml: string,
): {
  passed: number;
  failed: number;
  skipped: number;
  names: string[];
  failedNames: string[];
  skippedNames: string[];
  /** Each case as `classname::name`, with its outcome. */
  cases: { file: string; name: string; outcome: "passed" | "failed" | "skipped" }[];
} {
  const unxml = (v: string) =>
    v.replaceAll("&quot;", '"').replaceAll("&apos;", "'").replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">").replaceAll("&amp;", "&");
  const names: string[] = [];
  const failedNames: string[] = [];
  const skippedNames: string[] = [];
  const cases: { file: string; name: string; outcome: "passed" | "failed" | "skipped" }[] = [];
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attrs = m[1];
    const nameAttr = /\bname="([^"]*)"/.exec(attrs);
    if (!nameAttr) continue;
    const name = unxml(nameAttr[1]);
    const file = unxml(/\bclassname="([^"]*)"/.exec(attrs)?.[1] ?? "");
    names.push(name);
    // A skipped (ignored) test proved nothing: it is not counted as passed.
    const outcome = m[3] && /<(failure|error)\b/.test(m[3])
      ? "failed"
      : m[3] && /<skipped\b/.test(m[3])
      ? "skipped"
      : "passed";
    if (outcome === "failed") failedNames.push(name);
    if (outcome === "skipped") skippedNames.push(name);
    cases.push({ file, name, outcome });
  }
  return {
    passed: names.length - failedNames.length - skippedNames.length,
    failed: failedNames.length,
    skipped: skippedNames.length,
    names,
    failedNames,
    skippedNames,
    cases,
  };
}

/** The names of the escape cases a suite declares (`Deno.test("escape …"`). */
export function escapeCaseNames(source: string): string[] {
  return [...source.matchAll(/Deno\.test\(\s*(?:\{\s*name:\s*)?"(escape[^"]*)"/g)].map((m) => m[1]);
}

/** escape-tests: every case of the shipped escape suite ran from that file and passed. */
export function checkEscapeTests(
  tests: ReturnType<typeof junitSummary> | null,
  add: AddResult,
): void {
  // Escape tests: every case the shipped escape suite declares must be in the results, from
  // that suite's file, and have passed (not failed, not skipped). Look-alike names elsewhere
  // prove nothing.
  const suite = ESCAPE_SUITE;
  let declared: string[] | null = null;
  try {
    declared = escapeCaseNames(Deno.readTextFileSync(suite));
  } catch { /* no suite on this machine */ }
  if (!tests) add("escape-tests", "manual", "no test results given (--tests junit.xml)");
  else if (!declared || declared.length === 0) {
    add("escape-tests", "manual", `the escape suite ${suite} is not available to compare with`);
  } else {
    const tail = suite.split("/").slice(-3).join("/");
    const ran = new Map(
      tests.cases.filter((c) => c.file.endsWith(tail)).map((c) => [c.name, c.outcome]),
    );
    const missing = declared.filter((n) => !ran.has(n));
    const skipped = declared.filter((n) => ran.get(n) === "skipped");
    const failed = declared.filter((n) => ran.get(n) === "failed");
    const ok = declared.length - missing.length - skipped.length - failed.length;
    add(
      "escape-tests",
      ok === declared.length ? "pass" : "fail",
      `${ok}/${declared.length} cases of ${tail} passed${
        failed.length ? `; failed: ${failed.join(", ")}` : ""
      }${skipped.length ? `; skipped: ${skipped.join(", ")}` : ""}${
        missing.length ? `; not in the results: ${missing.length}` : ""
      }`,
    );
  }
}

/** Every `*_test.ts` under `root`, relative to it. */
function testFiles(root: string, dir = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(root, dir))) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...testFiles(root, rel));
    else if (e.isFile && e.name.endsWith("_test.ts")) out.push(rel);
  }
  return out.sort();
}

/**
 * The suite passes only when the results cover every test file of the suite (a handful of
 * passing tests proves nothing about the rest) and nothing failed.
 */
export function testsPass(
  i: ComplianceInputs,
  tests: ReturnType<typeof junitSummary> | null,
): [ControlResult["status"], string] {
  if (!tests) return ["manual", "no test results given (--tests junit.xml)"];
  const counts = `${tests.passed} passed, ${tests.failed} failed, ${tests.skipped} skipped`;
  const root = i.testsRoot ?? TESTS_ROOT;
  let files: string[];
  try {
    files = testFiles(root);
  } catch {
    return ["manual", `${counts}; the test suite ${root} is not available to compare with`];
  }
  const ran = new Set(tests.cases.map((c) => c.file.replace(/^\.\//, "")));
  const base = root.replace(/\/+$/, "").split("/").at(-1) ?? "tests";
  const missing = files.filter((f) =>
    ![...ran].some((r) => r === `${base}/${f}` || r.endsWith(`/${base}/${f}`))
  );
  if (tests.failed > 0) {
    return [
      "fail",
      `${counts}; failed: ${tests.failedNames.slice(0, 10).join(", ")}${
        tests.failedNames.length > 10 ? ", …" : ""
      }`,
    ];
  }
  if (missing.length > 0 || tests.passed === 0) {
    return [
      "fail",
      `${counts}; ${missing.length} of ${files.length} test files are not in the results: ${
        missing.slice(0, 10).join(", ")
      }${missing.length > 10 ? ", …" : ""}`,
    ];
  }
  return ["pass", `${counts}; all ${files.length} test files of ${root} in the results`];
}
