/**
 * The control plane: a Hono HTTP API over a running host, on 127.0.0.1 by default. Bearer
 * tokens carry roles (viewer < operator < admin); every mutating endpoint needs operator or
 * admin; bodies are zod-validated and size-limited; every operator action is audited with the
 * token's name.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import type { Context, Next } from "hono";
import type { AuditEntry } from "../../governance/audit/mod.ts";
import type { AgentHost } from "../host.ts";
import type { AgentRef } from "../governor.ts";
import type { ApprovalQueue } from "../approvals/queue.ts";
import { verifyLog } from "../audit/verify.ts";
import { loadPolicy } from "../policy/loader.ts";
import { compilePolicy, PolicyError } from "../../governance/mod.ts";

export type Role = "viewer" | "operator" | "admin";
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** An API token: its secret, a name for the audit log, and a role. */
export interface ApiToken {
  token: string;
  name: string;
  role: Role;
}

export interface ControlPlaneOptions {
  tokens: ApiToken[];
  approvals: ApprovalQueue;
  /** Policy paths for `POST /api/policy/reload`. */
  policyPaths: string[];
  /** Largest request body (bytes). */
  maxBody?: number;
  /** The console page (HTML), served at `/`. */
  consoleHtml?: string;
}

const StartBody = z.strictObject({
  module: z.string().min(1).max(4096),
  name: z.string().min(1).max(128).optional(),
  ring: z.number().int().min(0).max(3).optional(),
  workspace: z.string().max(4096).optional(),
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
});
const ReasonBody = z.strictObject({
  reason: z.string().min(1).max(1024).default("operator request"),
});
const RingBody = z.strictObject({ ring: z.number().int().min(0).max(3) });
const PolicyText = z.strictObject({
  text: z.string().max(1 << 20),
  path: z.string().max(256).default("<api>"),
});
const DecideBody = z.strictObject({ hash: z.string().regex(/^[0-9a-f]{64}$/).optional() });

const OPERATOR: AgentRef = {
  id: "operator",
  name: "operator",
  ring: 0,
  trust: 1000,
  labels: {},
  workspace: "/",
  code: "/",
  sdk: "/",
};

type Vars = { Variables: { who: ApiToken } };

export function controlPlane(host: AgentHost, o: ControlPlaneOptions): Hono<Vars> {
  const app = new Hono<Vars>();
  const byToken = new Map(o.tokens.map((t) => [t.token, t]));

  app.onError((e, c) => c.json({ error: e instanceof Error ? e.message : String(e) }, 500));
  app.notFound((c) => c.json({ error: "not found" }, 404));
  app.use(
    "*",
    bodyLimit({
      maxSize: o.maxBody ?? 64 * 1024,
      onError: (c) => c.json({ error: "request body too large" }, 413),
    }),
  );
  if (o.consoleHtml) app.get("/", (c) => c.html(o.consoleHtml!));

  const auth = (role: Role) => async (c: Context<Vars>, next: Next) => {
    const h = c.req.header("authorization") ?? "";
    const m = /^Bearer (.+)$/.exec(h);
    const who = m ? byToken.get(m[1]) : undefined;
    if (!who) {
      return c.json({ error: "authentication required (Authorization: Bearer <token>)" }, 401);
    }
    if (RANK[who.role] < RANK[role]) {
      return c.json({ error: `the ${who.role} role may not do this (needs ${role})` }, 403);
    }
    c.set("who", who);
    await next();
  };
  const body = async <T extends z.ZodType>(
    c: Context<Vars>,
    schema: T,
  ): Promise<z.infer<T> | Response> => {
    let raw: unknown = {};
    const text = await c.req.text();
    if (text.trim() !== "") {
      try {
        raw = JSON.parse(text);
      } catch {
        return c.json({ error: "malformed JSON body" }, 400);
      }
    }
    const r = schema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0];
      return c.json({ error: `invalid body: ${i.path.join(".") || "body"}: ${i.message}` }, 400);
    }
    return r.data;
  };
  const audit = (
    c: Context<Vars>,
    action: string,
    resource: string,
    reason: string,
    effect: "allow" | "deny" = "allow",
  ) =>
    host.governor.record({ ...OPERATOR, name: c.get("who").name }, {
      path: "host",
      action: `operator.${action}`,
      resource,
    }, {
      effect,
      rule: null,
      reason: `${c.get("who").name} (${c.get("who").role}): ${reason}`,
    });

  // Agents
  app.get(
    "/api/agents",
    auth("viewer"),
    (c) =>
      c.json(
        host.agents().map((h) => ({
          id: h.id,
          name: h.name,
          ring: h.ref.ring,
          trust: Math.round(h.ref.trust),
          pid: h.pid,
          state: h.killReason ? "killing" : "running",
        })),
      ),
  );
  app.post("/api/agents", auth("operator"), async (c) => {
    const b = await body(c, StartBody);
    if (b instanceof Response) return b;
    const h = await host.start({ ...b, ring: b.ring as 0 | 1 | 2 | 3 | undefined, stdio: "null" });
    audit(c, "start", b.module, `started ${h.name} (${h.id}) at ring ${h.ref.ring}`);
    return c.json({ id: h.id, name: h.name, pid: h.pid }, 201);
  });
  for (const verb of ["kill", "stop"] as const) {
    app.post(`/api/agents/:id/${verb}`, auth("operator"), async (c) => {
      const b = await body(c, ReasonBody);
      if (b instanceof Response) return b;
      const h = host.get(c.req.param("id") ?? "");
      if (!h) return c.json({ error: "unknown agent" }, 404);
      audit(c, verb, h.id, b.reason);
      const exit = await h.kill(
        `${verb === "stop" ? "stopped" : "killed"} by ${c.get("who").name}: ${b.reason}`,
      );
      return c.json(exit);
    });
  }
  app.post("/api/agents/:id/ring", auth("admin"), async (c) => {
    const b = await body(c, RingBody);
    if (b instanceof Response) return b;
    const h = host.get(c.req.param("id") ?? "");
    if (!h) return c.json({ error: "unknown agent" }, 404);
    const from = h.ref.ring;
    h.ref.ring = b.ring; // decisions use the new ceiling at once (an operator's action)
    audit(c, "ring", h.id, `ring ${from} -> ${b.ring}`);
    return c.json({ id: h.id, ring: b.ring });
  });

  // Policy
  app.get("/api/policy", auth("viewer"), (c) => {
    const p = host.governor.policy;
    return c.json({
      names: p.names,
      sources: p.sources,
      rules: p.rules.length,
      default: p.defaultEffect,
    });
  });
  app.post("/api/policy/validate", auth("viewer"), async (c) => {
    const b = await body(c, PolicyText);
    if (b instanceof Response) return b;
    try {
      const p = compilePolicy(b.text, { path: b.path });
      return c.json({ ok: true, rules: p.rules.length });
    } catch (e) {
      if (e instanceof PolicyError) {
        return c.json({
          ok: false,
          problems: e.problems.map((x) => `${x.path}:${x.line}:${x.column}: ${x.message}`),
        });
      }
      throw e;
    }
  });
  app.post("/api/policy/reload", auth("admin"), (c) => {
    const r = host.delivery.reload(() => loadPolicy(o.policyPaths, { builtin: true }));
    audit(
      c,
      "policy.reload",
      o.policyPaths.join(","),
      r.ok ? "reloaded" : `refused: ${r.problems[0]}`,
      r.ok ? "allow" : "deny",
    );
    return c.json(r, r.ok ? 200 : 422);
  });
  app.get("/api/policy/shadow", auth("viewer"), (c) => c.json(host.delivery.status()));

  // Audit
  const Query = z.object({
    agent: z.string().optional(),
    action: z.string().optional(),
    effect: z.enum(["allow", "deny", "require_approval"]).optional(),
    since: z.string().datetime().optional(),
    until: z.string().datetime().optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(200),
  });
  app.get("/api/audit", auth("viewer"), (c) => {
    const q = Query.safeParse(c.req.query());
    if (!q.success) {
      return c.json({
        error: `invalid query: ${q.error.issues[0].path.join(".")}: ${q.error.issues[0].message}`,
      }, 400);
    }
    const { agent, action, effect, since, until, limit } = q.data;
    const out = host.audit.recent.filter((e) =>
      (!agent || e.agent.name === agent || e.agent.id === agent) &&
      (!action || e.action === action) &&
      (!effect || e.effect === effect) && (!since || e.ts >= since) && (!until || e.ts <= until)
    );
    return c.json(out.slice(-limit));
  });
  app.get("/api/audit/verify", auth("viewer"), async (c) => {
    if (!host.audit.path) {
      return c.json({ ok: false, problem: "this host keeps its audit log in memory only" });
    }
    await host.audit.flush();
    return c.json(await verifyLog(host.audit.path));
  });
  app.get("/api/audit/stream", auth("viewer"), (c) =>
    streamSSE(c, async (stream) => {
      const queue: AuditEntry[] = [];
      let wake: (() => void) | null = null;
      const off = host.audit.subscribe((e) => {
        queue.push(e);
        wake?.();
      });
      stream.onAbort(() => {
        off();
        wake?.();
      });
      while (!stream.aborted) {
        if (queue.length === 0) await new Promise<void>((r) => (wake = r));
        wake = null;
        while (queue.length) {
          await stream.writeSSE({ event: "decision", data: JSON.stringify(queue.shift()) });
        }
      }
      off();
    }));

  // Approvals
  app.get("/api/approvals", auth("viewer"), (c) => c.json(o.approvals.list()));
  for (const verb of ["approve", "deny"] as const) {
    app.post(`/api/approvals/:id/${verb}`, auth("operator"), async (c) => {
      const b = await body(c, DecideBody);
      if (b instanceof Response) return b;
      const ok = o.approvals.decide(
        c.req.param("id") ?? "",
        verb === "approve" ? "approved" : "denied",
        c.get("who").name,
        b.hash,
      );
      if (!ok) {
        return c.json(
          { error: "no such pending approval (or it was for a different action)" },
          404,
        );
      }
      return c.json({ ok: true });
    });
  }

  // Trust, sagas, plugins, SRE
  app.get(
    "/api/trust",
    auth("viewer"),
    (c) =>
      c.json(
        host.agents().map((h) => ({
          id: h.id,
          name: h.name,
          trust: h.ref.trust,
          ring: h.ref.ring,
        })),
      ),
  );
  app.get("/api/sagas", auth("viewer"), async (c) => c.json(await host.sagas.list()));
  app.get("/api/sre", auth("viewer"), (c) => c.json(host.sre.status()));
  app.get(
    "/api/plugins",
    auth("viewer"),
    (c) =>
      c.json(
        host.agents().filter((h) => h.name.startsWith("plugin-")).map((h) => ({
          name: h.name.slice(7),
          pid: h.pid,
          ring: h.ref.ring,
        })),
      ),
  );

  // Prometheus metrics
  app.get("/metrics", auth("viewer"), (c) => {
    const counts = new Map<string, number>();
    for (const e of host.audit.recent) {
      const k = `${e.path}|${e.effect}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const lines = [
      "# HELP warden_agents_running Agents running now.",
      "# TYPE warden_agents_running gauge",
      `warden_agents_running ${host.agents().length}`,
      "# HELP warden_audit_entries Entries in the audit chain.",
      "# TYPE warden_audit_entries counter",
      `warden_audit_entries ${host.audit.size}`,
      "# HELP warden_pending_approvals Operations waiting for a human.",
      "# TYPE warden_pending_approvals gauge",
      `warden_pending_approvals ${o.approvals.list().length}`,
      "# HELP warden_recent_decisions Recent decisions by path and effect.",
      "# TYPE warden_recent_decisions gauge",
      ...[...counts].map(([k, n]) => {
        const [path, effect] = k.split("|");
        return `warden_recent_decisions{path="${path}",effect="${effect}"} ${n}`;
      }),
    ];
    return c.text(lines.join("\n") + "\n", 200, { "content-type": "text/plain; version=0.0.4" });
  });
  return app;
}
