/**
 * Output rules on an agent's raw stdout and stderr (channel `stdio`): `deno task run` prints a
 * token redacted and a private key block withheld line by line (the body lines as well as the
 * BEGIN line); a deny rule replaces the line. Each match is audited by hash.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { compilePolicy } from "../../governance/mod.ts";
import { attachOutputRules, compileOutputRules } from "../../governance/outputs/mod.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { Governor, HOST_AGENT } from "../../runtime/governor.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { stdioFilter } from "../../runtime/outputs/stdio.ts";
import { runDeno } from "../cli/run.ts";

const TOKEN = "ghp_" + "PrintedToken0123".repeat(3).slice(0, 36);

Deno.test("stdio filter: redacts a token, withholds a whole PEM block, replaces a denied line", () => {
  const text = "apiVersion: warden/v1\nkind: Policy\nname: s\ndefault: deny\nrules: []\n" +
    "outputs:\n  dlp:\n    - { id: creds, builtin: all, effect: redact }\n" +
    "    - { id: codename, pattern: project-zeus, effect: deny, on: [stdio] }\n";
  const log = new AuditLog();
  const audit: { action: string }[] = [];
  log.subscribe((e) => audit.push(e));
  const policy = attachOutputRules(compilePolicy(text), compileOutputRules([{ text }]));
  const f = stdioFilter(new Governor(policy, loadRings(), log), HOST_AGENT, "stdout");
  const lines = [
    `token: ${TOKEN}`,
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "QyNTUxOQAAACBkZXBsb3kga2V5IGZvciB0ZXN0cyBvbmx5LCBub3QgcmVhbC4uLi4uLgAA",
    "-----END OPENSSH PRIVATE KEY-----",
    "about project-zeus",
    "plain",
  ];
  assertEquals(lines.map(f), [
    "token: [redacted:creds]",
    "[redacted:creds]",
    "[redacted:creds]",
    "[redacted:creds]",
    "[redacted:creds]",
    '[line withheld by output rules: output denied by rule "codename": pattern at $]',
    "plain",
  ]);
  assertEquals(audit.filter((e) => e.action === "output.check").length, 3);
});

Deno.test("deno task run: what the agent prints leaves redacted (agents.yaml rules)", async () => {
  const r = await runDeno([
    "task",
    "-q",
    "run",
    new URL("./agents/printer.ts", import.meta.url).pathname,
  ]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout.trim().split("\n"), [
    "token: [redacted:no-credentials]",
    "[redacted:no-credentials]",
    "[redacted:no-credentials]",
    "[redacted:no-credentials]",
    "done",
  ]);
  assert(r.stderr.includes("err [redacted:no-credentials]"), r.stderr);
  assert(!r.stdout.includes("MIIE") && !r.stderr.includes(TOKEN.slice(4)), "a secret was printed");
});
