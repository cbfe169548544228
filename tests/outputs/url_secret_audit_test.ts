/**
 * A secret in a URL never lands in the audit log (issue 19 follow-up). The output rules refuse
 * a request whose URL carries a secret, on both ways out (the SDK's `http.fetch` and the egress
 * proxy), but the `net.fetch` decision before that was audited with the URL as asked. Now the
 * decision is made on the real URL and audited with the redacted form. Hostile spellings: the
 * token in the query string, in userinfo, percent-encoded, in the path, in a deny rule's
 * pattern. The log file's bytes hold none of them, and `deno task audit verify` passes.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { compilePolicy } from "../../governance/mod.ts";
import { attachOutputRules, compileOutputRules } from "../../governance/outputs/mod.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { startEgress } from "../../runtime/egress/mod.ts";
import { type AgentRef, Governor } from "../../runtime/governor.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { type OpContext, runOp } from "../../runtime/gateway/ops.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { ToolRunner } from "../../runtime/executors/runner.ts";
import { auditedUrl } from "../../runtime/outputs/audited_url.ts";
import { runDeno } from "../cli/run.ts";
import type { SdkRequest } from "../../sdk/wire_schema.ts";
import { rawAsk } from "../egress/raw_ask.ts";

const TOKEN = "ghp_" + "Qm4Tz".repeat(8);
const CODENAME = "project-zeus";
const pct = (s: string) => [...s].map((c) => "%" + c.charCodeAt(0).toString(16)).join("");
const dec = new TextDecoder();

const POLICY = `apiVersion: warden/v1
kind: Policy
name: url-secret
default: deny
rules:
  - id: loopback-fetch
    effect: allow
    action: net.fetch
    when: { url.host: { eq: 127.0.0.1 } }
outputs:
  dlp:
    - id: no-credentials
      builtin: [tokens, cloud, private_key]
      effect: redact
    - id: no-codename
      pattern: 'project-(?:zeus|hera)'
      effect: deny
      on: [http.request]
`;

/** The URLs an agent might ask for, each carrying a secret (`port` of a loopback server). */
function hostile(port: number): string[] {
  const base = `http://127.0.0.1:${port}`;
  return [
    `${base}/search?q=${TOKEN}`,
    `http://user:${TOKEN}@127.0.0.1:${port}/`,
    `${base}/search?q=${pct(TOKEN)}`,
    `${base}/search?q=${TOKEN.replace("_", "%5F").replace(/Q/g, "%51")}`,
    `${base}/v1/${TOKEN}/items`,
    `${base}/docs/${CODENAME}`,
    `${base}/docs/${pct(CODENAME)}`,
  ];
}

/** What must not be in the log: each secret raw and in the spellings asked. */
function forbidden(): string[] {
  return [TOKEN, pct(TOKEN), TOKEN.slice(4, 24), CODENAME, pct(CODENAME), "zeus"];
}

async function setup(dir: string) {
  const policy = attachOutputRules(
    compilePolicy(POLICY, { path: "p.yaml" }),
    compileOutputRules([{ text: POLICY, path: "p.yaml" }]),
  );
  const file = join(dir, "audit.jsonl");
  const signer = await new Keystore(join(dir, "keys")).signer("host");
  const log = new AuditLog(file, { signer });
  const governor = new Governor(policy, loadRings(), log);
  const agent: AgentRef = {
    id: "did:key:z6MkUrlSecret",
    name: "url-secret",
    ring: 2,
    trust: 700,
    labels: {},
    workspace: dir,
    code: dir,
    sdk: dir,
  };
  return { policy, file, log, governor, agent };
}

/** The log file holds none of the secrets, `fetches` net.fetch decisions, and verifies. */
async function assertCleanLog(file: string, log: AuditLog, fetches: number): Promise<void> {
  await log.close();
  const bytes = dec.decode(Deno.readFileSync(file));
  for (const s of forbidden()) assert(!bytes.includes(s), `the audit log holds ${s}`);
  const decided = bytes.trim().split("\n").map((l) => JSON.parse(l))
    .filter((e) => e.action === "net.fetch");
  assertEquals(decided.length, fetches, "net.fetch entries");
  const r = await runDeno(["task", "--quiet", "audit", "verify", file]);
  assertEquals(r.code, 0, r.stdout + r.stderr);
}

Deno.test("url secrets: the audited form is redacted; origin kept; a clean URL is as asked", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-url-secret-" });
  const { policy, log } = await setup(dir);
  await log.close();
  await Deno.remove(dir, { recursive: true });
  const plain = "http://127.0.0.1:9/search?q=hello#x";
  assertEquals(auditedUrl(policy, plain), plain);
  for (const url of hostile(9)) {
    const shown = auditedUrl(policy, url);
    for (const s of forbidden()) assert(!shown.includes(s), `${url} audited as ${shown}`);
    assert(shown.startsWith("http://127.0.0.1:9/"), `${url} audited as ${shown}`);
  }
  // A secret in the host: nothing of the URL is kept.
  const inHost = auditedUrl(policy, `http://${CODENAME}.evil.test/`);
  assert(!inHost.includes("zeus") && !inHost.includes("evil.test"), inHost);
  // Without output rules the URL is audited as asked (and costs nothing).
  const bare = compilePolicy("apiVersion: warden/v1\nkind: Policy\nname: b\nrules: []\n");
  assertEquals(auditedUrl(bare, hostile(9)[0]), hostile(9)[0]);
});

Deno.test("url secrets: http.fetch decides on the real URL, refuses it, audits none of it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-url-secret-sdk-" });
  let reached = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    reached++;
    return new Response("ok");
  });
  const { file, log, governor, agent } = await setup(dir);
  try {
    const ctx: OpContext = {
      agent,
      governor,
      env: {},
      runner: new ToolRunner({ governor, tools: new ToolRegistry(), approvals: () => undefined }),
      signal: new AbortController().signal,
    };
    const op = (r: Record<string, unknown>) => runOp({ id: 1, ...r } as SdkRequest, ctx);
    for (const url of hostile(server.addr.port)) {
      const why = await op({ op: "http.fetch", url, method: "GET", headers: {} })
        .then(() => "sent", (e) => String(e));
      assert(why.includes("output rules"), `${url}: ${why}`);
    }
    assertEquals(reached, 0, "a request with a secret in its URL reached the server");
    // Decided on the real URL: the net.fetch entries are allows of the loopback rule.
    const decided = log.recent.filter((e) => e.action === "net.fetch");
    assert(decided.every((e) => e.effect === "allow" && e.rule === "loopback-fetch"));
    // A clean request is audited as asked, and sent.
    const clean = `http://127.0.0.1:${server.addr.port}/ok?q=1`;
    await op({ op: "http.fetch", url: clean, method: "GET", headers: {} });
    assertEquals(reached, 1);
    assertEquals(log.recent.findLast((e) => e.action === "net.fetch")?.resource, clean);
    await assertCleanLog(file, log, hostile(1).length + 1);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("url secrets: the egress proxy refuses them and audits none of it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warden-url-secret-egress-" });
  let reached = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    reached++;
    return new Response("ok");
  });
  const { file, log, governor, agent } = await setup(dir);
  const egress = await startEgress({ dir, agent, governor, host: {}, port: 0 });
  const ask = (raw: string) => rawAsk(egress.socketPath, raw, 20_000);
  try {
    for (const url of hostile(server.addr.port)) {
      const a = await ask(`GET ${url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      // Refused: 403 by the output rules (400 for userinfo, refused before deciding).
      assert(["403", "400"].includes(a.split(" ")[1]), `${url}: ${a}`);
    }
    assertEquals(reached, 0, "a request with a secret in its URL reached the server");
    await egress.close();
    // The userinfo form is refused by the proxy before any decision (400).
    await assertCleanLog(file, log, hostile(1).length - 1);
  } finally {
    await egress.close().catch(() => {});
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
