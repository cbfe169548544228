/**
 * Output rules on the headers of an SDK `http.fetch` (issue 22): a secret in `Authorization`,
 * a cookie or any other header to an allowed host is redacted in the value that reaches the
 * server, a denied pattern refuses the request, and a secret in a header name is never sent.
 * And the one way a credential is meant to leave: a rule's `except:` names the host and the
 * header it may go to (https only, that host exactly, that header only; other rules still
 * apply). Also the policy errors of `except:`.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { compilePolicy, PolicyError } from "../../governance/mod.ts";
import { attachOutputRules, compileOutputRules } from "../../governance/outputs/mod.ts";
import { sha256Hex } from "../../governance/audit/sha256.ts";
import { AuditLog } from "../../runtime/audit/log.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { ToolRunner } from "../../runtime/executors/runner.ts";
import { type AgentRef, Governor } from "../../runtime/governor.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { type OpContext, RefusalError, runOp } from "../../runtime/gateway/ops.ts";
import { guardRequest } from "../../runtime/outputs/http.ts";
import type { SdkRequest } from "../../sdk/wire_schema.ts";

const TOKEN = "ghp_" + "k7Yq2".repeat(8);
const OTHER = "ghp_" + "Zr8Pw".repeat(8);

const POLICY = `apiVersion: warden/v1
kind: Policy
name: http-request
default: allow
outputs:
  dlp:
    - id: no-credentials
      builtin: [tokens, cloud, private_key]
      effect: redact
      except:
        - host: API.example.com
          header: [Authorization]
    - id: no-codename
      pattern: 'project-(?:zeus|hera)'
      effect: deny
      on: [http.request]
`;

function setup() {
  const audit: Record<string, unknown>[] = [];
  const log = new AuditLog();
  log.subscribe((e) => audit.push(e as unknown as Record<string, unknown>));
  const policy = attachOutputRules(
    compilePolicy(POLICY, { path: "p.yaml" }),
    compileOutputRules([{ text: POLICY, path: "p.yaml" }]),
  );
  const governor = new Governor(policy, loadRings(), log);
  const agent: AgentRef = {
    id: "did:key:z6MkHttpRequest",
    name: "http-request",
    ring: 1,
    trust: 900,
    labels: {},
    workspace: "/tmp",
    code: "/tmp",
    sdk: "/tmp",
  };
  const ctx: OpContext = {
    agent,
    governor,
    env: {},
    runner: new ToolRunner({ governor, tools: new ToolRegistry(), approvals: () => undefined }),
    signal: new AbortController().signal,
  };
  const op = (r: Record<string, unknown>) => runOp({ id: 1, ...r } as SdkRequest, ctx);
  const check = (url: string, headers: [string, string][], body: string | null = null) =>
    guardRequest({ governor, subject: agent, path: "sdk" }, {
      url,
      headers,
      body: body === null ? null : new TextEncoder().encode(body),
    });
  return { audit, op, check };
}

async function refusal(p: Promise<unknown>): Promise<RefusalError> {
  try {
    await p;
  } catch (e) {
    assert(e instanceof RefusalError, String(e));
    return e;
  }
  throw new Error("not refused");
}

Deno.test("http.fetch headers: values are redacted before they leave; denials and names refuse", async () => {
  const seen: Record<string, string>[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const h: Record<string, string> = {};
    req.headers.forEach((v, k) => (h[k] = v));
    seen.push(h);
    return new Response("ok");
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/`;
    const { op, audit } = setup();
    await op({
      op: "http.fetch",
      url,
      method: "GET",
      headers: { Authorization: `Bearer ${TOKEN}`, Cookie: `sid=${TOKEN}`, "X-Trace": "7" },
    });
    assertEquals(
      [seen[0].authorization, seen[0].cookie, seen[0]["x-trace"]],
      ["Bearer [redacted:no-credentials]", "sid=[redacted:no-credentials]", "7"],
    );
    const c = audit.find((x) => x.action === "output.check")!;
    assertEquals([c.rule, c.outcome, c.path], ["no-credentials", "redact", "sdk"]);
    const f = c.findings as Record<string, unknown>[];
    assertEquals(f.map((x) => x.path), ["$.headers.authorization", "$.headers.cookie"]);
    assertEquals(f[0].sha256, sha256Hex(TOKEN));
    const d = await refusal(
      op({ op: "http.fetch", url, method: "GET", headers: { "X-Note": "project-zeus" } }),
    );
    assertEquals([d.code, d.rule], ["denied", "no-codename"]);
    const n = await refusal(
      op({ op: "http.fetch", url, method: "GET", headers: { [`X-${TOKEN}`]: "1" } }),
    );
    assert(n.message.includes("a secret in a header name"), n.message);
    assertEquals(seen.length, 1, "a refused request reached the server");
    // A string body keeps the type fetch gives it; one the agent names stays.
    await op({ op: "http.fetch", url, method: "POST", headers: {}, body: "hi" });
    assertEquals(seen[1]["content-type"], "text/plain;charset=UTF-8");
    await op({
      op: "http.fetch",
      url,
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: `{"k":"${TOKEN}"}`,
    });
    assertEquals(seen[2]["content-type"], "application/json");
    assert(!JSON.stringify(audit).includes(TOKEN), "the secret is in the audit log");
  } finally {
    await server.shutdown();
  }
});

Deno.test("except: the credential meant for a host leaves in that header there, and only there", async () => {
  const { check, audit } = setup();
  const auth: [string, string] = ["authorization", `Bearer ${TOKEN}`];
  // The named host over https, the named header: sent as it is, nothing audited.
  const ok = await check("https://api.example.com/v1", [auth]);
  assert(ok.ok && !ok.redacted, JSON.stringify(ok));
  assertEquals(audit.length, 0);
  const value = async (url: string, headers: [string, string][], body: string | null = null) => {
    const r = await check(url, headers, body);
    if (!r.ok) throw new Error(r.reason);
    return [r.request.headers, r.request.body && new TextDecoder().decode(r.request.body)];
  };
  const red = "Bearer [redacted:no-credentials]";
  // Plain http, another host (a suffix is no match), another header, the body: redacted.
  assertEquals((await value("http://api.example.com/", [auth]))[0], [["authorization", red]]);
  assertEquals((await value("https://evil-api.example.com/", [auth]))[0], [[
    "authorization",
    red,
  ]]);
  assertEquals((await value("https://api.example.com.evil.test/", [auth]))[0], [[
    "authorization",
    red,
  ]]);
  assertEquals(
    await value("https://api.example.com/", [auth, ["x-copy", TOKEN]], `t=${OTHER}`),
    [[auth, ["x-copy", "[redacted:no-credentials]"]], "t=[redacted:no-credentials]"],
  );
  // Other rules still read the excepted header.
  const d = await check("https://api.example.com/", [["authorization", "project-hera"]]);
  assert(!d.ok && d.rule === "no-codename", JSON.stringify(d));
});

Deno.test("except: a bad host or header name is a positioned policy problem", () => {
  const head = "apiVersion: warden/v1\nkind: Policy\nname: x\ndefault: allow\n";
  const problem = (yaml: string) => {
    try {
      compilePolicy(head + yaml, { path: "p.yaml" });
    } catch (e) {
      assert(e instanceof PolicyError, String(e));
      return e.message.split("\n")[0];
    }
    throw new Error("compiled");
  };
  const rule = (except: string) =>
    `outputs:\n  dlp:\n    - id: x\n      builtin: tokens\n      effect: redact\n      except:\n${except}`;
  assert(
    problem(rule("        - host: 'a b'\n          header: authorization\n"))
      .startsWith("p.yaml:11:17: outputs.dlp[0].except[0].host: expected a host name"),
  );
  assert(
    problem(rule("        - host: a.test\n          header: 'x y'\n"))
      .startsWith("p.yaml:12:19: outputs.dlp[0].except[0].header: expected a header name"),
  );
  assert(
    problem(rule("        - host: a.test\n")).includes('missing required key "header"'),
  );
});
