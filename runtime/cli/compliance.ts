/**
 * `deno task compliance report [--format md|json|html] [--policy FILE|DIR]... [--audit FILE]
 *   [--tests junit.xml] [--slo FILE] [--state DIR] [--peer URL]... [--bundle FILE]`
 * `deno task compliance verify <bundle.json> [--key did:key:…]`
 */
import {
  CliError,
  type CliSpec,
  command,
  FileError,
  readJson,
  readText,
  runCli,
  UsageError,
} from "./runner.ts";
import { join } from "node:path";
import { PolicyError } from "../../governance/mod.ts";
import { compileSlos } from "../../governance/sre/mod.ts";
import { checkpointPath } from "../audit/log.ts";
import { fileHash, junitSummary, runChecks } from "../compliance/checks.ts";
import {
  buildReport,
  type Bundle,
  renderReport,
  signBundle,
  verifyBundle,
} from "../compliance/report.ts";
import { Keystore } from "../identity/keystore.ts";
import { writableFile } from "./paths.ts";
import { DEFAULT_RINGS, loadPolicy, loadRings, policyFiles } from "../policy/loader.ts";
import { wardenHome } from "../state.ts";

const DEFAULT_POLICY = new URL("../../policies/agents.yaml", import.meta.url).pathname;

async function verify(
  { values: o, positionals: [file] }: { values: { key?: string }; positionals: string[] },
): Promise<number> {
  const b = readJson(file) as Bundle;
  let bad;
  try {
    bad = await verifyBundle(b, o.key);
  } catch (e) {
    throw new FileError(file, `not an evidence bundle: ${(e as Error).message}`);
  }
  if (bad) throw new FileError(file, bad);
  console.log(
    `ok: bundle signed by ${b.signer} at ${b.report.generatedAt}; ${b.report.summary.pass} pass, ${b.report.summary.fail} fail`,
  );
  return 0;
}

type R = {
  values: {
    format?: string;
    policy?: string[];
    audit?: string;
    tests?: string;
    slo?: string;
    state?: string;
    bundle?: string;
    peer?: string[];
  };
};

async function report({ values: o }: R): Promise<number> {
  if (!["md", "json", "html"].includes(o.format!)) {
    throw new UsageError(`--format: expected md, json or html, got "${o.format}"`);
  }
  if (o.bundle !== undefined) writableFile(o.bundle, "--bundle");
  const state = o.state ?? wardenHome();
  const policyPaths = o.policy?.length ? o.policy : [DEFAULT_POLICY];
  try {
    const policy = loadPolicy(policyPaths, { builtin: true });
    const slos = o.slo ? compileSlos(readText(o.slo, "--slo"), o.slo) : undefined;
    const junit = o.tests ? readText(o.tests, "--tests") : undefined;
    const controls = await runChecks({
      policy,
      rings: loadRings(),
      state,
      auditPath: o.audit,
      slos,
      junit,
      peers: o.peer ?? [],
    });
    const report = buildReport(controls);
    console.log(renderReport(report, o.format as "md"));
    if (o.bundle) {
      const configHashes: Record<string, string> = {};
      for (
        const f of [...policyPaths.flatMap(policyFiles), DEFAULT_RINGS, ...(o.slo ? [o.slo] : [])]
      ) configHashes[f] = fileHash(f);
      let auditCheckpoint: unknown = null;
      if (o.audit) {
        try {
          auditCheckpoint = JSON.parse(
            Deno.readTextFileSync(checkpointPath(o.audit)).trimEnd().split("\n").at(-1)!,
          );
        } catch { /* no checkpoint yet */ }
      }
      const t = junit ? junitSummary(junit) : null;
      const signer = await new Keystore(join(state, "keys"), Deno.env.get("WARDEN_KEY_PASSPHRASE"))
        .signer("host");
      const bundle = await signBundle({
        report,
        configHashes,
        auditCheckpoint,
        testSummary: t && { passed: t.passed, failed: t.failed },
      }, signer);
      Deno.writeTextFileSync(o.bundle, JSON.stringify(bundle, null, 2) + "\n");
      console.error(`evidence bundle written to ${o.bundle}, signed by ${signer.did}`);
    }
    return report.summary.fail > 0 ? 1 : 0;
  } catch (e) {
    if (e instanceof PolicyError || e instanceof CliError) throw e;
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
}

/** `deno task compliance`. */
export const spec: CliSpec = {
  name: "compliance",
  subcommands: {
    report: command({
      args: `[--format md|json|html] [--policy FILE|DIR]... [--audit FILE]
         [--tests junit.xml] [--slo FILE] [--state DIR] [--peer URL]... [--bundle FILE]`,
      options: {
        format: { type: "string", default: "md" },
        policy: { type: "string", multiple: true },
        audit: { type: "string" },
        tests: { type: "string" },
        slo: { type: "string" },
        state: { type: "string" },
        bundle: { type: "string" },
        peer: { type: "string", multiple: true },
      },
      files: [
        { args: (p) => ["--policy", p], ext: ".yaml" },
        { args: (p) => ["--slo", p], ext: ".yaml" },
      ],
      main: report,
    }),
    verify: command({
      args: "<bundle.json> [--key did:key:…]",
      options: { key: { type: "string" } },
      positionals: [1, 1],
      files: [{ args: (p) => [p] }],
      main: verify,
    }),
  },
};

if (import.meta.main) await runCli(spec);
