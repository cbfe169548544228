/**
 * Issue 16 class 10: role escalation. Every route × role, and every field of `POST /api/agents`
 * × role: a refusal is a 403 with a one-line reason, and it is audited.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { ApprovalQueue } from "../../runtime/approvals/queue.ts";
import { registerBuiltinTools } from "../../runtime/executors/builtin_tools.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { controlPlane } from "../../runtime/server/api.ts";

const SLEEPER = new URL("./agents/sleeper.ts", import.meta.url).pathname;
const TOKENS = { viewer: "v".repeat(32), operator: "o".repeat(32), admin: "a".repeat(32) };
type Role = keyof typeof TOKENS;
const ROLES: (Role | null)[] = [null, "viewer", "operator", "admin"];
const RANK = { viewer: 0, operator: 1, admin: 2 };

async function setup() {
  const dir = await Deno.makeTempDir();
  const root = join(dir, "agents");
  const outside = join(dir, "elsewhere");
  await Deno.mkdir(root);
  await Deno.mkdir(outside);
  await Deno.copyFile(SLEEPER, join(root, "sleeper.ts"));
  await Deno.copyFile(SLEEPER, join(outside, "sleeper.ts"));
  await Deno.copyFile(SLEEPER, join(root, "plugin-x.ts"));
  await Deno.symlink(join(outside, "sleeper.ts"), join(root, "link.ts"));
  await Deno.symlink(outside, join(root, "linkdir"));
  const host = new AgentHost({
    policy: loadPolicy(["policies/agents.yaml"], { builtin: true }),
    rings: loadRings(),
    tools: registerBuiltinTools(new ToolRegistry()),
    stateDir: join(dir, "state"),
  });
  const approvals = new ApprovalQueue(host.governor, 60_000);
  host.setApprovalHandler(approvals.handler);
  const app = controlPlane(host, {
    tokens: [
      { token: TOKENS.viewer, name: "viv", role: "viewer" },
      { token: TOKENS.operator, name: "otto", role: "operator" },
      { token: TOKENS.admin, name: "ada", role: "admin" },
    ],
    approvals,
    policyPaths: ["policies/agents.yaml"],
    agentRoots: [root],
  });
  const call = (method: string, path: string, role: Role | null, body?: unknown) =>
    app.request(path, {
      method,
      headers: role ? { authorization: `Bearer ${TOKENS[role]}` } : {},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const cleanup = async () => {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  };
  return { app, host, call, root, outside, dir, cleanup };
}

Deno.test("class 10: every route × role — lower roles get 403 with a reason, audited", async () => {
  const { app, host, call, root, cleanup } = await setup();
  try {
    const X = "did:key:nobody";
    const A = "0".repeat(8);
    const routes: [string, string, Role, unknown?][] = [
      ["GET", "/api/agents", "viewer"],
      ["POST", "/api/agents", "operator", { module: join(root, "sleeper.ts") }],
      ["POST", `/api/agents/${X}/kill`, "operator", { reason: "matrix" }],
      ["POST", `/api/agents/${X}/stop`, "operator", { reason: "matrix" }],
      ["POST", `/api/agents/${X}/ring`, "admin", { ring: 3 }],
      ["GET", "/api/policy", "viewer"],
      ["POST", "/api/policy/validate", "operator", { text: "apiVersion: warden/v1\n" }],
      ["POST", "/api/policy/reload", "admin"],
      ["GET", "/api/policy/shadow", "viewer"],
      ["GET", "/api/audit", "viewer"],
      ["GET", "/api/audit/verify", "viewer"],
      ["GET", "/api/fleet", "viewer"],
      ["GET", "/api/audit/stream", "viewer"],
      ["GET", "/api/approvals", "operator"],
      ["POST", `/api/approvals/${A}/approve`, "operator", { hash: "0".repeat(64) }],
      ["POST", `/api/approvals/${A}/deny`, "operator", { hash: "0".repeat(64) }],
      ["GET", "/api/memory/quarantine", "operator"],
      ["POST", `/api/memory/${A}/release`, "operator"],
      ["POST", `/api/memory/${A}/reject`, "operator"],
      ["GET", "/api/trust", "viewer"],
      ["GET", "/api/sagas", "viewer"],
      ["GET", "/api/sre", "viewer"],
      ["GET", "/api/plugins", "viewer"],
      ["GET", "/metrics", "viewer"],
    ];
    // Every route the control plane serves is in this table (a new route must be added here).
    const served = new Set(
      app.routes.filter((r) => r.method !== "ALL" && r.path !== "/").map((r) =>
        `${r.method} ${r.path}`
      ),
    );
    const listed = new Set(
      routes.map(([m, p]) => `${m} ${p.replace(X, ":id").replace(`/${A}/`, "/:id/")}`),
    );
    assertEquals([...served].filter((r) => !listed.has(r)), []);
    assertEquals(served.size, listed.size);
    const wrong: string[] = [];
    for (const [method, path, min, body] of routes) {
      for (const role of ROLES) {
        const r = await call(method, path, role, body);
        const want = role === null ? 401 : RANK[role] < RANK[min] ? 403 : "ok";
        const got = r.status === 401 || r.status === 403 ? r.status : "ok";
        if (got === 403) {
          const e = (await r.json()).error as string;
          if (!e || e.includes("\n")) wrong.push(`${method} ${path} ${role}: reason ${e}`);
        } else await r.body?.cancel();
        if (got !== want) wrong.push(`${method} ${path} as ${role}: ${r.status}, want ${want}`);
      }
    }
    assertEquals(wrong, []);
    const refusals = host.audit.recent.filter((e) =>
      e.action.startsWith("operator.") && e.effect === "deny" &&
      e.reason.includes("role may not do this")
    );
    // Every 403 above was audited, with the caller's name and role.
    const expected = routes.reduce(
      (n, [, , min]) => n + ROLES.filter((r) => r !== null && RANK[r] < RANK[min]).length,
      0,
    );
    assertEquals(refusals.length, expected);
    if (!refusals.some((e) => e.reason.startsWith("viv (viewer):"))) {
      throw new Error(JSON.stringify(refusals[0]));
    }
  } finally {
    await cleanup();
  }
});

Deno.test("class 10: fields of POST /api/agents × role (ring, workspace, module, budgets, labels, bundle, name)", async () => {
  const { host, call, root, outside, dir, cleanup } = await setup();
  try {
    const inRoot = join(root, "sleeper.ts");
    const ws = join(dir, "chosen-workspace");
    const cases: [string, Record<string, unknown>, { operator: number; admin: number }][] = [
      ["defaults", { module: inRoot }, { operator: 201, admin: 201 }],
      ["ring 3", { module: inRoot, ring: 3 }, { operator: 201, admin: 201 }],
      ["ring 0", { module: inRoot, ring: 0 }, { operator: 403, admin: 201 }],
      ["ring 1", { module: inRoot, ring: 1 }, { operator: 403, admin: 201 }],
      ["workspace /", { module: inRoot, workspace: "/" }, { operator: 403, admin: 0 }],
      ["workspace", { module: inRoot, workspace: ws }, { operator: 403, admin: 201 }],
      ["module outside", { module: join(outside, "sleeper.ts") }, { operator: 403, admin: 201 }],
      ["re-spelled ..", { module: `${root}/../elsewhere/sleeper.ts` }, {
        operator: 403,
        admin: 201,
      }],
      ["re-spelled inside", { module: `${root}/./x/../sleeper.ts` }, {
        operator: 201,
        admin: 201,
      }],
      ["missing", { module: join(root, "nope.ts") }, { operator: 404, admin: 404 }],
      // Outside the roots a missing file looks like a present one: no probing the host.
      ["missing outside", { module: join(outside, "nope.ts") }, { operator: 403, admin: 404 }],
      ["missing via link", { module: join(root, "linkdir", "nope.ts") }, {
        operator: 403,
        admin: 404,
      }],
      ["symlinked file", { module: join(root, "link.ts") }, { operator: 403, admin: 201 }],
      ["symlinked dir", { module: join(root, "linkdir", "sleeper.ts") }, {
        operator: 403,
        admin: 201,
      }],
      ["relative", { module: "tests/server/agents/sleeper.ts" }, { operator: 403, admin: 201 }],
      ["labels", { module: inRoot, labels: { tier: "trusted" } }, { operator: 403, admin: 201 }],
      ["bundle", { module: inRoot, bundle: false }, { operator: 403, admin: 201 }],
      ["plugin name", { module: inRoot, name: "plugin-x" }, { operator: 403, admin: 201 }],
      ["another's name", { module: inRoot, name: "sysbot" }, { operator: 403, admin: 201 }],
      ["plugin module", { module: join(root, "plugin-x.ts") }, { operator: 403, admin: 201 }],
      ["own name", { module: inRoot, name: "sleeper" }, { operator: 201, admin: 201 }],
      ["loose cpu", { module: inRoot, cpuMs: 3_600_000 }, { operator: 403, admin: 201 }],
      ["loose heap", { module: inRoot, heapMb: 4096 }, { operator: 403, admin: 201 }],
      ["loose memory", { module: inRoot, memoryBytes: 2 ** 31 }, { operator: 403, admin: 201 }],
      ["loose memory at 3", { module: inRoot, ring: 3, memoryBytes: 768 << 20 }, {
        operator: 403,
        admin: 201,
      }],
      ["tight budgets, env, args", {
        module: inRoot,
        name: "sleeper",
        cpuMs: 10_000,
        heapMb: 64,
        timeoutMs: 60_000,
        memoryBytes: 256 << 20,
        env: { MODE: "test" },
        args: ["--x"],
      }, { operator: 201, admin: 0 }],
      ["unknown field", { module: inRoot, processEnv: { A: "1" } }, { operator: 400, admin: 400 }],
      ["trust", { module: inRoot, trust: 1000 }, { operator: 400, admin: 400 }],
    ];
    const wrong: string[] = [];
    for (const [label, body, want] of cases) {
      for (const role of ["viewer", "operator", "admin"] as const) {
        const expect = role === "viewer" ? 403 : want[role];
        if (expect === 0) continue;
        const r = await call("POST", "/api/agents", role, body);
        const j = await r.json();
        if (r.status !== expect) {
          wrong.push(`${label} as ${role}: ${r.status} ${JSON.stringify(j)}, want ${expect}`);
        }
        if (r.status === 201) await host.get(j.id)?.kill("test");
      }
    }
    assertEquals(wrong, []);
    // No operator-started agent runs below ring 2 or outside a host-made workspace.
    const starts = host.audit.recent.filter((e) => e.action === "agent.start");
    if (starts.length === 0) throw new Error("nothing started");
    const refused = host.audit.recent.filter((e) =>
      e.action === "operator.start" && e.effect === "deny"
    );
    if (!refused.some((e) => e.reason.startsWith("otto (operator):") && /ring 0/.test(e.reason))) {
      throw new Error(JSON.stringify(refused.map((e) => e.reason)));
    }
  } finally {
    await cleanup();
  }
});
