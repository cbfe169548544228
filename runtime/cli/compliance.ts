/**
 * `deno task compliance report [--format md|json|html] [--policy FILE|DIR]... [--audit FILE]
 *   [--tests junit.xml] [--slo FILE] [--state DIR] [--peer URL]... [--bundle FILE]`
 * `deno task compliance verify <bundle.json> [--key did:key:…]`
 */
import { parseCli } from "./args.ts";
import { join } from "node:path";
import { formatProblem, PolicyError } from "../../governance/mod.ts";
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
import { DEFAULT_RINGS, loadPolicy, loadRings, policyFiles } from "../policy/loader.ts";
import { wardenHome } from "../state.ts";

const USAGE =
  `usage: deno task compliance report [--format md|json|html] [--policy FILE|DIR]... [--audit FILE]
         [--tests junit.xml] [--slo FILE] [--state DIR] [--peer URL]... [--bundle FILE]
       deno task compliance verify <bundle.json> [--key did:key:…]`;
const DEFAULT_POLICY = new URL("../../policies/agents.yaml", import.meta.url).pathname;

async function main(): Promise<number> {
  const parsed = parseCli({
    format: { type: "string", default: "md" },
    policy: { type: "string", multiple: true },
    audit: { type: "string" },
    tests: { type: "string" },
    slo: { type: "string" },
    state: { type: "string" },
    bundle: { type: "string" },
    key: { type: "string" },
    peer: { type: "string", multiple: true },
  }, USAGE);
  if (!parsed) return 2;
  const { values: o, positionals: [cmd, file] } = parsed;
  if (cmd === "verify" && file) {
    let b: Bundle;
    try {
      b = JSON.parse(Deno.readTextFileSync(file));
    } catch (e) {
      console.error(`${file}: ${(e as Error).message}`);
      return 1;
    }
    const bad = await verifyBundle(b, o.key);
    if (bad) {
      console.error(`${file}: ${bad}`);
      return 1;
    }
    console.log(
      `ok: bundle signed by ${b.signer} at ${b.report.generatedAt}; ${b.report.summary.pass} pass, ${b.report.summary.fail} fail`,
    );
    return 0;
  }
  if (cmd !== "report" || file || !["md", "json", "html"].includes(o.format!)) {
    console.error(USAGE);
    return 2;
  }
  const state = o.state ?? wardenHome();
  const policyPaths = o.policy?.length ? o.policy : [DEFAULT_POLICY];
  try {
    const policy = loadPolicy(policyPaths, { builtin: true });
    const slos = o.slo ? compileSlos(Deno.readTextFileSync(o.slo), o.slo) : undefined;
    const junit = o.tests ? Deno.readTextFileSync(o.tests) : undefined;
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
    if (e instanceof PolicyError) {
      console.error(
        e.problems.map(formatProblem).join("\n"),
      );
      return 1;
    }
    console.error(e instanceof Error ? e.message : String(e));
    return 1;
  }
}

Deno.exit(await main());
